-- The periods the comparison marts measure, each inside one operating model of one service:
--   comparison:       the trailing window [as_of - window_days, as_of) cut by the service's model periods, so a
--                     service that migrated inside the window contributes to each model for its own time in it;
--   before_migration: the migration_window_days before a change of model (within the previous model's period);
--   after_migration:  the migration_window_days after it (within the new model's period, up to as-of);
--   week:             each local week of the service (int_service_weeks) cut by its model periods, for the weekly
--                     trend per operating model.
with

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

service_weeks as (

    select * from {{ ref('int_service_weeks') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

comparison as (

    select
        'comparison' as period_kind,
        cast(null as varchar) as migration_id,
        cast(null as date) as week_start,
        operating_model_periods.service,
        operating_model_periods.operating_model,
        greatest(operating_model_periods.valid_from_at, run_parameters.window_start_at) as start_at,
        least(
            coalesce(operating_model_periods.valid_to_at, run_parameters.window_end_at), run_parameters.window_end_at
        ) as end_at
    from operating_model_periods
    cross join run_parameters

),

migrations as (

    select
        operating_model_periods.operating_model_period_id as migration_id,
        operating_model_periods.service,
        operating_model_periods.previous_operating_model,
        operating_model_periods.operating_model,
        operating_model_periods.valid_from_at as migrated_at,
        operating_model_periods.valid_to_at,
        lag(operating_model_periods.valid_from_at) over (
            partition by operating_model_periods.service order by operating_model_periods.valid_from_at
        ) as previous_valid_from_at
    from operating_model_periods

),

before_migration as (

    select
        'before_migration' as period_kind,
        migrations.migration_id,
        cast(null as date) as week_start,
        migrations.service,
        migrations.previous_operating_model as operating_model,
        greatest(
            migrations.migrated_at - to_days(run_parameters.migration_window_days), migrations.previous_valid_from_at
        ) as start_at,
        migrations.migrated_at as end_at
    from migrations
    cross join run_parameters
    where
        migrations.previous_operating_model <> migrations.operating_model
        and migrations.migrated_at < run_parameters.as_of_at

),

after_migration as (

    select
        'after_migration' as period_kind,
        migrations.migration_id,
        cast(null as date) as week_start,
        migrations.service,
        migrations.operating_model,
        migrations.migrated_at as start_at,
        least(
            migrations.migrated_at + to_days(run_parameters.migration_window_days),
            coalesce(migrations.valid_to_at, run_parameters.as_of_at),
            run_parameters.as_of_at
        ) as end_at
    from migrations
    cross join run_parameters
    where migrations.previous_operating_model <> migrations.operating_model

),

weeks as (

    select
        'week' as period_kind,
        cast(null as varchar) as migration_id,
        service_weeks.week_start,
        operating_model_periods.service,
        operating_model_periods.operating_model,
        greatest(service_weeks.week_start_at, operating_model_periods.valid_from_at) as start_at,
        least(
            service_weeks.period_end_at,
            coalesce(operating_model_periods.valid_to_at, service_weeks.period_end_at)
        ) as end_at
    from service_weeks
    inner join operating_model_periods
        on
            service_weeks.service = operating_model_periods.service
            and service_weeks.period_end_at > operating_model_periods.valid_from_at
            and (
                service_weeks.week_start_at < operating_model_periods.valid_to_at
                or operating_model_periods.valid_to_at is null
            )

),

all_periods as (

    select * from comparison
    union all
    select * from before_migration
    union all
    select * from after_migration
    union all
    select * from weeks

)

select
    period_kind || ':' || service || ':' || cast(start_at as varchar) as period_id,
    period_kind,
    migration_id,
    week_start,
    service,
    operating_model,
    start_at,
    end_at,
    {{ days_between('start_at', 'end_at') }} as period_days
from all_periods
-- an empty period (a model that ended before the window, a migration on the as-of day) measures nothing
where end_at > start_at
