{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_jira.actions` typed, one row per raw record (quarantined ones too: stg_jira__actions
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('jira', 'actions') }}

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
        id as action_id,
        key as action_key,
        fields_project_key as project_key,
        fields_issuetype_name as issue_type,
        fields_status_name as workflow_status,
        fields_summary as issue_summary,
        json_extract_string(payload, '$.fields.labels[*]') as labels,
        -- both directions: an inward link names the other issue as inwardIssue, an outward one as outwardIssue
        list_filter(
            list_transform(
                json_extract(payload, '$.fields.issuelinks[*]'),
                lambda link: coalesce(link ->> '$.outwardIssue.key', link ->> '$.inwardIssue.key')
            ),
            lambda linked_key: linked_key is not null
        ) as linked_keys,
        {{ to_utc_timestamp('fields_created') }} as created_at,
        -- an action is completed when it is resolved; null while open
        {{ to_utc_timestamp('fields_resolutiondate') }} as completed_at
    from extracted

)

select * from renamed
