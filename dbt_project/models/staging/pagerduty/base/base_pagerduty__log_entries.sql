{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_pagerduty.log_entries` typed, one row per raw record (quarantined ones too: stg_pagerduty__log_entries
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('pagerduty', 'log_entries') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.type',
            '$.incident.id',
            '$.agent.type',
            '$.agent.id',
            '$.agent.summary',
            '$.created_at',
            '$.assignees'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as log_entry_id,
        -- list endpoints may return references (trigger_log_entry_reference); the kind is the same
        replace(type, '_reference', '') as log_entry_type,
        incident_id,
        agent_type,
        -- who acted: a user_reference for acknowledgements and manual resolves, the service for automatic ones
        agent_id,
        agent_summary as agent_name,
        {{ to_utc_timestamp('created_at') }} as created_at,
        -- who an assign_log_entry assigned the incident to: [user_reference]
        cast(assignees as json) as assignees
    from extracted

)

select * from renamed
