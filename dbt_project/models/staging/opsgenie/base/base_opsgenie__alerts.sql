{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_opsgenie.alerts` typed, one row per raw record (quarantined ones too: stg_opsgenie__alerts
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('opsgenie', 'alerts') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.tinyId',
            '$.message',
            '$.status',
            '$.priority',
            '$.createdAt',
            '$.updatedAt',
            '$.report.ackTime',
            '$.report.closeTime',
            '$.report.acknowledgedBy',
            '$.responders'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as alert_id,
        tinyid as tiny_id,
        message,
        lower(status) as status,
        priority,
        _context ->> '$.team' as opsgenie_team,
        {{ to_utc_timestamp('createdat') }} as triggered_at,
        {{ to_utc_timestamp('updatedat') }} as updated_at,
        try_cast(report_acktime as bigint) as ack_time_ms,
        try_cast(report_closetime as bigint) as close_time_ms,
        report_acknowledgedby as acknowledged_by,
        -- who the alert was routed to: [{type: team|user|escalation|schedule, id, name|username}]
        cast(responders as json) as responders
    from extracted

)

select * from renamed
