-- Opsgenie alerts are pages, like PagerDuty incidents. Their report times are not timestamps: ackTime and
-- closeTime are milliseconds since createdAt, so they are added to it here, once.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('opsgenie', 'alerts') }}

),

renamed as (

    select
        payload ->> '$.id' as alert_id,
        payload ->> '$.tinyId' as tiny_id,
        payload ->> '$.message' as message,
        lower(payload ->> '$.status') as status,
        payload ->> '$.priority' as priority,
        _context ->> '$.team' as opsgenie_team,
        {{ to_utc_timestamp("payload ->> '$.createdAt'") }} as triggered_at,
        {{ to_utc_timestamp("payload ->> '$.updatedAt'") }} as updated_at,
        try_cast(payload ->> '$.report.ackTime' as bigint) as ack_time_ms,
        try_cast(payload ->> '$.report.closeTime' as bigint) as close_time_ms
    from source

)

select
    alert_id,
    tiny_id,
    message,
    status,
    priority,
    opsgenie_team,
    triggered_at,
    updated_at,
    triggered_at + to_milliseconds(ack_time_ms) as acknowledged_at,
    case when status = 'closed' then triggered_at + to_milliseconds(close_time_ms) end as resolved_at
from renamed
