{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_jira.reviews` typed, one row per raw record (quarantined ones too: stg_jira__reviews
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('jira', 'reviews') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.key',
            '$.fields.project.key',
            '$.fields.issuetype.name',
            '$.fields.status.name',
            '$.fields.summary',
            '$.fields.created',
            '$.fields.resolutiondate'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as review_id,
        key as review_key,
        fields_project_key as project_key,
        fields_issuetype_name as issue_type,
        fields_status_name as workflow_status,
        fields_summary as issue_summary,
        json_extract_string(payload, '$.fields.labels[*]') as labels,
        {{ to_utc_timestamp('fields_created') }} as created_at,
        -- a review is published when it is resolved; null while in draft
        {{ to_utc_timestamp('fields_resolutiondate') }} as published_at,
        -- the incident link's field is a setting (stg_jira__reviews reads it)
        payload
    from extracted

)

select * from renamed
