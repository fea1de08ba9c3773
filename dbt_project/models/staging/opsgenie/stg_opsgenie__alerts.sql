-- Opsgenie alerts are pages, like PagerDuty incidents: each with the catalog service whose Opsgenie mapping names the
-- team that was queried (null: an unknown team). Their report times are not timestamps: ackTime and closeTime are
-- milliseconds since createdAt, so they are added to it here, once. Conforms to `incidents`.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_opsgenie__alerts')) }}

),

services as (

    {{ mapped_services('opsgenie', ['team']) }}

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
