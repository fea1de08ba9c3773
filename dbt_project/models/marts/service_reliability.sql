-- Reliability per service and local week. Downtime is the union of the impacting incidents' intervals (overlaps
-- once), clipped to the week, so an incident across a week boundary is split between the weeks; an incident still
-- open counts until OPMETRICS_AS_OF. A week without incidents is 100% available.
with

service_weeks as (

    select * from {{ ref('int_service_weeks') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

downtime_intervals as (

    select * from {{ ref('int_downtime_intervals') }}

),

services as (

    select * from {{ ref('int_services') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

weekly_incidents as (

    select
        incidents.service,
        {{ local_week_start('incidents.triggered_at', 'run_parameters.timezone') }} as week_start,
        count(*) as incidents,
        count(*) filter (where incidents.is_impacting) as impacting_incidents,
        count(*) filter (where incidents.is_out_of_hours) as out_of_hours_incidents,
        quantile_cont(incidents.time_to_restore_minutes, 0.5) filter (
            where incidents.is_impacting
        ) as median_time_to_restore_minutes,
        quantile_cont(incidents.time_to_restore_minutes, 0.85) filter (
            where incidents.is_impacting
        ) as p85_time_to_restore_minutes,
        count(incidents.time_to_restore_minutes) filter (where incidents.is_impacting) as n_restored_incidents
    from incidents
    cross join run_parameters
    group by all

),

weekly_downtime as (

    select
        service_weeks.service_week_id,
        sum(
            {{ minutes_between(
                'greatest(downtime_intervals.start_at, service_weeks.week_start_at)',
                'least(downtime_intervals.end_at, service_weeks.period_end_at)'
            ) }}
        ) as downtime_minutes
    from service_weeks
    inner join downtime_intervals
        on
            service_weeks.service = downtime_intervals.service
            and service_weeks.period_end_at > downtime_intervals.start_at
            and service_weeks.week_start_at < downtime_intervals.end_at
    group by service_weeks.service_week_id

),

measured as (

    select
        service_weeks.*,
        services.availability_target,
        coalesce(weekly_downtime.downtime_minutes, 0) as downtime_minutes,
        weekly_incidents.incidents,
        weekly_incidents.impacting_incidents,
        weekly_incidents.out_of_hours_incidents,
        weekly_incidents.median_time_to_restore_minutes,
        weekly_incidents.p85_time_to_restore_minutes,
        weekly_incidents.n_restored_incidents
    from service_weeks
    inner join services
        on service_weeks.service = services.service
    left join weekly_downtime
        on service_weeks.service_week_id = weekly_downtime.service_week_id
    left join weekly_incidents
        on
            service_weeks.service = weekly_incidents.service
            and service_weeks.week_start = weekly_incidents.week_start

)

select
    service,
    week_start,
    iso_week,
    operating_model,
    has_operating_model_change,
    cast(coalesce(incidents, 0) as integer) as incidents,
    cast(coalesce(impacting_incidents, 0) as integer) as impacting_incidents,
    cast(coalesce(out_of_hours_incidents, 0) as integer) as out_of_hours_incidents,
    cast(downtime_minutes as double) as downtime_minutes,
    period_minutes,
    100.0 * (1 - downtime_minutes / period_minutes) as availability_pct,
    availability_target,
    -- tolerable unavailability of the (measured) week: 99.9% allows 10m 5s in a full week
    (1 - availability_target / 100.0) * period_minutes as tolerable_downtime_minutes,
    100.0 * (1 - downtime_minutes / period_minutes) >= availability_target as target_met,
    median_time_to_restore_minutes,
    p85_time_to_restore_minutes,
    cast(coalesce(n_restored_incidents, 0) as integer) as n_restored_incidents
from measured
