-- Downtime of each service: the union of [triggered_at, resolved_at) of its impacting incidents, overlapping
-- intervals merged (overlaps count once, not twice). An incident still open counts until the as-of instant.
-- Consumers clip these intervals at their period boundaries.
with

incidents as (

    select * from {{ ref('int_incidents') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

intervals as (

    select
        incidents.service,
        incidents.incident_id,
        incidents.is_open,
        incidents.triggered_at as start_at,
        coalesce(incidents.resolved_at, run_parameters.as_of_at) as end_at
    from incidents
    cross join run_parameters
    where
        incidents.is_impacting
        and not incidents.has_invalid_timeline

),

-- gaps and islands: an interval starts a new island when it begins after every earlier interval has ended
ordered as (

    select
        *,
        max(end_at) over (
            partition by service order by start_at, end_at, incident_id
            rows between unbounded preceding and 1 preceding
        ) as previous_end_at
    from intervals

),

numbered as (

    select
        *,
        sum(case when previous_end_at is null or start_at > previous_end_at then 1 else 0 end) over (
            partition by service order by start_at, end_at, incident_id
            rows between unbounded preceding and current row
        ) as island_number
    from ordered

)

select
    service || ':' || cast(island_number as varchar) as downtime_interval_id,
    service,
    min(start_at) as start_at,
    max(end_at) as end_at,
    {{ minutes_between('min(start_at)', 'max(end_at)') }} as downtime_minutes,
    count(*) as n_incidents,
    bool_or(is_open) as is_open,
    list(incident_id order by start_at, incident_id) as incident_ids
from numbered
group by service, island_number
