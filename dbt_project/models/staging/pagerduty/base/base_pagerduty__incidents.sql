{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_pagerduty.incidents` typed, one row per raw record (quarantined ones too: stg_pagerduty__incidents
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('pagerduty', 'incidents') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.incident_number',
            '$.title',
            '$.html_url',
            '$.status',
            '$.urgency',
            '$.priority.summary',
            '$.service.id',
            '$.service.summary',
            '$.created_at',
            '$.resolved_at',
            '$.last_status_change_at',
            '$.updated_at',
            '$.assignments'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as incident_id,
        cast(incident_number as bigint) as incident_number,
        title,
        html_url,
        lower(status) as status,
        lower(urgency) as urgency,
        -- priority is optional in PagerDuty (null when the account has no priorities)
        priority_summary as priority,
        service_id as pagerduty_service_id,
        service_summary as pagerduty_service_name,
        -- an incident is created when it triggers
        {{ to_utc_timestamp('created_at') }} as triggered_at,
        {{ to_utc_timestamp('resolved_at') }} as reported_resolved_at,
        {{ to_utc_timestamp('last_status_change_at') }} as last_status_change_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        -- who the incident is assigned to now: [{at, assignee: user_reference}] (empty once resolved)
        cast(assignments as json) as assignments
    from extracted

)

select * from renamed
