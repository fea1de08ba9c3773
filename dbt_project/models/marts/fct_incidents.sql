-- One row per incident of a catalog service.
with

incidents as (

    select * from {{ ref('int_incidents') }}

),

attributions as (

    select * from {{ ref('int_incident_attributions') }}

)

select
    incidents.incident_id,
    incidents.source,
    incidents.service,
    incidents.incident_number,
    incidents.title,
    incidents.html_url,
    incidents.severity,
    incidents.urgency,
    incidents.priority,
    incidents.is_impacting,
    incidents.triggered_at,
    incidents.acknowledged_at,
    incidents.acknowledged_by,
    incidents.resolved_at,
    incidents.is_open,
    incidents.has_invalid_timeline,
    incidents.time_to_acknowledge_minutes,
    incidents.time_to_restore_minutes,
    incidents.is_out_of_hours,
    incidents.operating_model,
    attributions.deployment_id as attributed_deployment_id,
    attributions.hours_after_deployment
from incidents
left join attributions
    on
        incidents.service = attributions.service
        and incidents.incident_id = attributions.incident_id
