-- Each PagerDuty incident with its catalog service (null: an unknown PagerDuty service, which quarantine lists) and
-- its timeline: acknowledged and resolved from the log entries; a resolved incident without a resolve entry falls
-- back to the payload's resolved_at, then to last_status_change_at. Conforms to `incidents`. Nothing is cut at the
-- as-of instant here: the intermediate layer does that for every source alike.
with

incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

log_entries as (

    select * from {{ ref('stg_pagerduty__log_entries') }}

),

services as (

    {{ mapped_services('pagerduty', ['service_id']) }}

),

log_summary as (

    select
        incident_id,
        min(created_at) filter (where log_entry_type = 'acknowledge_log_entry') as first_acknowledged_at,
        arg_min(agent_id, created_at) filter (where log_entry_type = 'acknowledge_log_entry') as first_acknowledged_by,
        min(created_at) filter (where log_entry_type = 'resolve_log_entry') as logged_resolved_at
    from log_entries
    group by incident_id

)

select
    'pagerduty' as source,  -- noqa: RF04
    'raw_pagerduty.incidents' as source_table,
    incidents.record_id,
    incidents.incident_id,
    services.service,
    incidents.pagerduty_service_id as service_key,
    incidents.incident_number,
    incidents.title,
    incidents.html_url,
    incidents.urgency,
    incidents.priority,
    incidents.triggered_at,
    coalesce(
        log_summary.first_acknowledged_at,
        case when incidents.status = 'acknowledged' then incidents.last_status_change_at end
    ) as acknowledged_at,
    log_summary.first_acknowledged_by as acknowledged_by,
    coalesce(
        log_summary.logged_resolved_at,
        case
            when incidents.status = 'resolved'
                then coalesce(incidents.reported_resolved_at, incidents.last_status_change_at)
        end
    ) as resolved_at
from incidents
left join services
    on incidents.pagerduty_service_id = services.service_id
left join log_summary
    on incidents.incident_id = log_summary.incident_id
