-- Each service's availability over the comparison window (the trailing window_days ending at OPMETRICS_AS_OF)
-- against its target: downtime is the union of its impacting incidents' intervals clipped to the window, and the
-- error budget is the downtime the target allows over the window.
with

services as (

    select * from {{ ref('dim_services') }}

),

downtime_intervals as (

    select * from {{ ref('int_downtime_intervals') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

window_downtime as (

    select
        downtime_intervals.service,
        sum(
            {{ minutes_between(
                'greatest(downtime_intervals.start_at, run_parameters.window_start_at)',
                'least(downtime_intervals.end_at, run_parameters.window_end_at)'
            ) }}
        ) as downtime_minutes
    from downtime_intervals
    cross join run_parameters
    where
        downtime_intervals.end_at > run_parameters.window_start_at
        and downtime_intervals.start_at < run_parameters.window_end_at
    group by downtime_intervals.service

),

window_incidents as (

    select
        incidents.service,
        count(*) as impacting_incidents
    from incidents
    cross join run_parameters
    where
        incidents.is_impacting
        and incidents.triggered_at >= run_parameters.window_start_at
        and incidents.triggered_at < run_parameters.window_end_at
    group by incidents.service

),

measured as (

    select
        services.service,
        services.team,
        services.current_operating_model,
        services.availability_target,
        cast(run_parameters.window_start_at as date) as window_start,
        cast(run_parameters.window_end_at as date) as window_end,
        coalesce(window_downtime.downtime_minutes, 0) as downtime_minutes,
        {{ minutes_between('run_parameters.window_start_at', 'run_parameters.window_end_at') }} as window_minutes,
        coalesce(window_incidents.impacting_incidents, 0) as impacting_incidents
    from services
    cross join run_parameters
    left join window_downtime
        on services.service = window_downtime.service
    left join window_incidents
        on services.service = window_incidents.service

)

select
    service,
    team,
    current_operating_model,
    availability_target,
    window_start,
    window_end,
    100.0 * (1 - downtime_minutes / window_minutes) as availability_pct,
    100.0 * (1 - downtime_minutes / window_minutes) - availability_target as distance_from_target_pp,
    100.0 * (1 - downtime_minutes / window_minutes) >= availability_target as target_met,
    cast(downtime_minutes as double) as downtime_minutes,
    (1 - availability_target / 100.0) * window_minutes as allowed_downtime_minutes,
    100.0 * downtime_minutes / nullif((1 - availability_target / 100.0) * window_minutes, 0) as error_budget_used_pct,
    cast(impacting_incidents as integer) as impacting_incidents
from measured
