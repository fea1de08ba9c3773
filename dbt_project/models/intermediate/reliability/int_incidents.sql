-- The timeline of every incident of a catalog service, as known at the as-of instant.
-- acknowledged_at / resolved_at come from the log entries; a resolved incident without a resolve entry falls back
-- to the payload's resolved_at, then to last_status_change_at. Anything after the as-of instant has not happened.
with

incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

alerts as (

    select * from {{ ref('stg_opsgenie__alerts') }}

),

log_entries as (

    select * from {{ ref('stg_pagerduty__log_entries') }}

),

services as (

    select * from {{ ref('int_services') }}

),

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

log_summary as (

    select
        log_entries.incident_id,
        min(log_entries.created_at) filter (
            where log_entries.log_entry_type = 'acknowledge_log_entry'
        ) as first_acknowledged_at,
        min(log_entries.created_at) filter (
            where log_entries.log_entry_type = 'resolve_log_entry'
        ) as logged_resolved_at
    from log_entries
    cross join run_parameters
    where log_entries.created_at < run_parameters.as_of_at
    group by log_entries.incident_id

),

timeline as (

    select
        incidents.incident_id,
        services.service,
        incidents.incident_number,
        incidents.title,
        incidents.html_url,
        incidents.urgency,
        incidents.priority,
        incidents.triggered_at,
        coalesce(
            log_summary.first_acknowledged_at,
            case when incidents.status = 'acknowledged' then incidents.last_status_change_at end
        ) as acknowledged_candidate_at,
        coalesce(
            log_summary.logged_resolved_at,
            case
                when incidents.status = 'resolved'
                    then coalesce(incidents.reported_resolved_at, incidents.last_status_change_at)
            end
        ) as resolved_candidate_at,
        run_parameters.as_of_at,
        run_parameters.timezone,
        run_parameters.working_hours_start,
        run_parameters.working_hours_end
    from incidents
    inner join services
        on incidents.pagerduty_service_id = services.pagerduty_service_id
    cross join run_parameters
    left join log_summary
        on incidents.incident_id = log_summary.incident_id
    where incidents.triggered_at < run_parameters.as_of_at

),

-- Opsgenie alerts are pages too; their report times already are timestamps in staging.
opsgenie_timeline as (

    select
        alerts.alert_id as incident_id,
        services.service,
        try_cast(alerts.tiny_id as bigint) as incident_number,
        alerts.message as title,
        cast(null as varchar) as html_url,
        cast(null as varchar) as urgency,
        alerts.priority,
        alerts.triggered_at,
        alerts.acknowledged_at as acknowledged_candidate_at,
        alerts.resolved_at as resolved_candidate_at,
        run_parameters.as_of_at,
        run_parameters.timezone,
        run_parameters.working_hours_start,
        run_parameters.working_hours_end
    from alerts
    inner join services
        on alerts.opsgenie_team = services.opsgenie_team
    cross join run_parameters
    where alerts.triggered_at < run_parameters.as_of_at

),

all_timelines as (

    select * from timeline
    union all
    select * from opsgenie_timeline

),

as_of_timeline as (

    select
        *,
        case when acknowledged_candidate_at < as_of_at then acknowledged_candidate_at end as acknowledged_at,
        case when resolved_candidate_at < as_of_at then resolved_candidate_at end as resolved_at,
        timezone(timezone, triggered_at) as triggered_at_local
    from all_timelines

)

select
    as_of_timeline.incident_id,
    as_of_timeline.service,
    as_of_timeline.incident_number,
    as_of_timeline.title,
    as_of_timeline.html_url,
    as_of_timeline.urgency,
    as_of_timeline.priority,
    coalesce(as_of_timeline.priority, as_of_timeline.urgency) as severity,
    -- impacting = severity at or above the service's threshold; no threshold is configured, so (default) all are
    true as is_impacting,
    as_of_timeline.triggered_at,
    as_of_timeline.acknowledged_at,
    as_of_timeline.resolved_at,
    as_of_timeline.resolved_at is null as is_open,
    -- a resolution before the trigger is a broken record: no duration, no downtime (it is kept, and flagged)
    coalesce(as_of_timeline.resolved_at < as_of_timeline.triggered_at, false) as has_invalid_timeline,
    case
        when as_of_timeline.resolved_at >= as_of_timeline.triggered_at
            then {{ minutes_between('as_of_timeline.triggered_at', 'as_of_timeline.resolved_at') }}
    end as time_to_restore_minutes,
    case
        when as_of_timeline.acknowledged_at >= as_of_timeline.triggered_at
            then {{ minutes_between('as_of_timeline.triggered_at', 'as_of_timeline.acknowledged_at') }}
    end as time_to_acknowledge_minutes,
    -- out of hours: a weekend, or outside working hours, on the local clock of the configured time zone
    isodow(as_of_timeline.triggered_at_local) > 5
    or hour(as_of_timeline.triggered_at_local) < as_of_timeline.working_hours_start
    or hour(as_of_timeline.triggered_at_local) >= as_of_timeline.working_hours_end as is_out_of_hours,
    operating_model_periods.operating_model
from as_of_timeline
left join operating_model_periods
    on
        as_of_timeline.service = operating_model_periods.service
        and as_of_timeline.triggered_at >= operating_model_periods.valid_from_at
        and (
            as_of_timeline.triggered_at < operating_model_periods.valid_to_at
            or operating_model_periods.valid_to_at is null
        )
