-- For each service that changed operating model: every measure over the migration_window_days before the change
-- (under the old model) and after it (under the new one, up to OPMETRICS_AS_OF), side by side.
-- Values are the service's own figures: rates over the period, medians of the period's events for durations, costs
-- per year; a total-cost-of-ownership share is each side's cost as a percent of the higher side's.
with

period_measures as (

    select * from {{ ref('int_service_period_measures') }}

),

measures as (

    select * from {{ ref('measures') }}

),

bands as (

    select * from {{ ref('bands') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

before_migration as (

    select * from period_measures
    where period_kind = 'before_migration'

),

after_migration as (

    select * from period_measures
    where period_kind = 'after_migration'

),

side_by_side as (

    select
        before_migration.migration_id,
        before_migration.service,
        before_migration.end_at as migrated_at,
        before_migration.operating_model as from_operating_model,
        after_migration.operating_model as to_operating_model,
        before_migration.measure,
        measures.measure_kind,
        measures.unit,
        measures.display_order,
        before_migration.measure_value as value_before,
        after_migration.measure_value as value_after,
        before_migration.n_events as n_events_before,
        after_migration.n_events as n_events_after,
        before_migration.start_at as before_start_at,
        before_migration.period_days as before_days,
        after_migration.end_at as after_end_at,
        after_migration.period_days as after_days
    from before_migration
    inner join measures
        on before_migration.measure = measures.measure
    left join after_migration
        on
            before_migration.migration_id = after_migration.migration_id
            and before_migration.measure = after_migration.measure

),

cost_shares as (

    select
        side_by_side.migration_id,
        side_by_side.service,
        side_by_side.migrated_at,
        side_by_side.from_operating_model,
        side_by_side.to_operating_model,
        share_measures.measure,
        share_measures.measure_kind,
        share_measures.unit,
        share_measures.display_order,
        100.0 * (
            side_by_side.value_before / nullif(greatest(side_by_side.value_before, side_by_side.value_after), 0)
        ) as value_before,
        100.0 * (
            side_by_side.value_after / nullif(greatest(side_by_side.value_before, side_by_side.value_after), 0)
        ) as value_after,
        side_by_side.n_events_before,
        side_by_side.n_events_after,
        side_by_side.before_start_at,
        side_by_side.before_days,
        side_by_side.after_end_at,
        side_by_side.after_days
    from side_by_side
    inner join measures as share_measures
        on side_by_side.measure = share_measures.share_of

),

all_measures as (

    select * from side_by_side
    union all
    select * from cost_shares

)

select
    all_measures.migration_id,
    all_measures.service,
    all_measures.migrated_at,
    all_measures.from_operating_model,
    all_measures.to_operating_model,
    all_measures.measure,
    replace(all_measures.unit, '{currency}', run_parameters.currency) as unit,
    all_measures.value_before,
    all_measures.value_after,
    all_measures.value_after - all_measures.value_before as value_change,
    before_bands.band as band_before,
    after_bands.band as band_after,
    cast(all_measures.n_events_before as integer) as n_events_before,
    cast(all_measures.n_events_after as integer) as n_events_after,
    all_measures.before_start_at,
    all_measures.after_end_at,
    all_measures.before_days,
    all_measures.after_days,
    cast(all_measures.display_order as integer) as display_order
from all_measures
cross join run_parameters
left join bands as before_bands
    on
        before_bands.band_set = 'playbook'
        and all_measures.measure_kind = before_bands.measure_kind
        and (before_bands.measure = '*' or all_measures.measure = before_bands.measure)
        and {{ band_matches('all_measures.value_before', 'before_bands') }}
left join bands as after_bands
    on
        after_bands.band_set = 'playbook'
        and all_measures.measure_kind = after_bands.measure_kind
        and (after_bands.measure = '*' or all_measures.measure = after_bands.measure)
        and {{ band_matches('all_measures.value_after', 'after_bands') }}
