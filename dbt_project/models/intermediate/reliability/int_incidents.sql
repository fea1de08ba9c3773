-- The timeline of every incident of a catalog service, from whichever pager source records it, as known at the
-- as-of instant: an acknowledgement or resolution at or after it has not happened yet.
with

incidents as (

    select * from {{ ref('int_incidents_unioned') }}

),

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

all_timelines as (

    select
        incidents.incident_id,
        incidents.source,
        incidents.source_table,
        incidents.record_id,
        incidents.service,
        incidents.incident_number,
        incidents.title,
        incidents.html_url,
        incidents.urgency,
        incidents.priority,
        incidents.triggered_at,
        incidents.acknowledged_at as acknowledged_candidate_at,
        incidents.acknowledged_by,
        incidents.resolved_at as resolved_candidate_at,
        run_parameters.as_of_at,
        run_parameters.timezone,
        run_parameters.working_hours_start,
        run_parameters.working_hours_end
    from incidents
    cross join run_parameters
    where
        incidents.service is not null
        and incidents.triggered_at < run_parameters.as_of_at

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
    as_of_timeline.source,
    as_of_timeline.source_table,
    as_of_timeline.record_id,
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
    case when as_of_timeline.acknowledged_at is not null then as_of_timeline.acknowledged_by end as acknowledged_by,
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
