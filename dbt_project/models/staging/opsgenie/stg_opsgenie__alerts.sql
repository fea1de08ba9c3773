-- Opsgenie alerts are pages, like PagerDuty incidents: each with the catalog service whose Opsgenie mapping names the
-- team that was queried (null: an unknown team). Their report times are not timestamps: ackTime and closeTime are
-- milliseconds since createdAt, so they are added to it here, once. Conforms to `incidents`.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('opsgenie', 'alerts') }}

),

services as (

    {{ mapped_services('opsgenie', ['team']) }}

),

renamed as (

    select
        _pk as record_id,
        payload ->> '$.id' as alert_id,
        payload ->> '$.tinyId' as tiny_id,
        payload ->> '$.message' as message,
        lower(payload ->> '$.status') as status,
        payload ->> '$.priority' as priority,
        _context ->> '$.team' as opsgenie_team,
        {{ to_utc_timestamp("payload ->> '$.createdAt'") }} as triggered_at,
        {{ to_utc_timestamp("payload ->> '$.updatedAt'") }} as updated_at,
        try_cast(payload ->> '$.report.ackTime' as bigint) as ack_time_ms,
        try_cast(payload ->> '$.report.closeTime' as bigint) as close_time_ms,
        payload ->> '$.report.acknowledgedBy' as acknowledged_by
    from source

)

select
    'opsgenie' as source,  -- noqa: RF04
    'raw_opsgenie.alerts' as source_table,
    renamed.record_id,
    renamed.alert_id as incident_id,
    services.service,
    renamed.opsgenie_team as service_key,
    try_cast(renamed.tiny_id as bigint) as incident_number,
    renamed.message as title,
    cast(null as varchar) as html_url,
    cast(null as varchar) as urgency,
    renamed.priority,
    renamed.status,
    renamed.opsgenie_team,
    renamed.triggered_at,
    renamed.updated_at,
    renamed.triggered_at + to_milliseconds(renamed.ack_time_ms) as acknowledged_at,
    renamed.acknowledged_by,
    case when renamed.status = 'closed' then renamed.triggered_at + to_milliseconds(renamed.close_time_ms) end
        as resolved_at
from renamed
left join services
    on renamed.opsgenie_team = services.team
