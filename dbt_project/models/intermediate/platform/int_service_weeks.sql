-- The weekly spine: one row per service and local week (Monday 00:00 in the configured time zone), from the
-- service's first catalog entry or event to the week holding the as-of instant. Weeks without events still exist,
-- so a quiet week reads as 0 deployments and 100% availability rather than as a missing row.
with

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

deployments as (

    select * from {{ ref('int_deployments') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

service_starts as (

    select
        service,
        min(started_at) as first_seen_at
    from (
        select
            service,
            valid_from_at as started_at
        from operating_model_periods
        union all
        select
            service,
            created_at as started_at
        from deployments
        union all
        select
            service,
            triggered_at as started_at
        from incidents
    ) as service_events
    group by service

),

week_lists as (

    select
        service_starts.service,
        range(
            cast({{ local_week_start('service_starts.first_seen_at', 'run_parameters.timezone') }} as timestamp),
            -- the last week is the one holding the last instant before as-of
            cast(
                {{ local_week_start("run_parameters.as_of_at - interval 1 microsecond", 'run_parameters.timezone') }}
                as timestamp
            ) + interval 7 day,
            interval 7 day
        ) as week_starts
    from service_starts
    cross join run_parameters
    where service_starts.first_seen_at < run_parameters.as_of_at

),

weeks as (

    select
        service,
        cast(unnest(week_starts) as date) as week_start
    from week_lists

),

bounded as (

    select
        weeks.service,
        weeks.week_start,
        strftime(weeks.week_start, '%G-W%V') as iso_week,
        timezone(run_parameters.timezone, cast(weeks.week_start as timestamp)) as week_start_at,
        timezone(run_parameters.timezone, cast(weeks.week_start + 7 as timestamp)) as week_end_at,
        run_parameters.as_of_at
    from weeks
    cross join run_parameters

),

clipped as (

    select
        *,
        -- the current week is measured up to the as-of instant only
        least(week_end_at, as_of_at) as period_end_at,
        {{ minutes_between('week_start_at', 'least(week_end_at, as_of_at)') }} as period_minutes
    from bounded

)

select
    clipped.service || ':' || cast(clipped.week_start as varchar) as service_week_id,
    clipped.service,
    clipped.week_start,
    clipped.iso_week,
    clipped.week_start_at,
    clipped.week_end_at,
    clipped.period_end_at,
    clipped.period_minutes,
    -- the model in effect at the end of the (measured) week; events carry their own model in the fact tables
    (
        select operating_model_periods.operating_model
        from operating_model_periods
        where
            operating_model_periods.service = clipped.service
            and operating_model_periods.valid_from_at < clipped.period_end_at
        order by operating_model_periods.valid_from_at desc
        limit 1
    ) as operating_model,
    exists(
        select 1
        from operating_model_periods
        where
            operating_model_periods.service = clipped.service
            and operating_model_periods.previous_operating_model is not null
            and operating_model_periods.previous_operating_model <> operating_model_periods.operating_model
            and operating_model_periods.valid_from_at > clipped.week_start_at
            and operating_model_periods.valid_from_at < clipped.period_end_at
    ) as has_operating_model_change
from clipped
