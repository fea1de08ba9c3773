-- The playbook's Table 1 redrawn from the organisation's data: each measure per operating model over the trailing
-- window_days ending at OPMETRICS_AS_OF, with its band.
-- Rates (deployment frequency, availability, change failure rate): each service's figure for its time in the model
-- within the window, then the median across those figures. Durations: the pooled median of all the model's events.
-- A value behind which fewer than 5 figures (rates) or events (durations) stand is given, and marked low-confidence.
with

period_measures as (

    select * from {{ ref('int_service_period_measures') }}

),

period_events as (

    select * from {{ ref('int_service_period_events') }}

),

periods as (

    select * from {{ ref('int_service_periods') }}

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

operating_models as (

    select unnest(['you_build_it_you_run_it', 'ops_run_it']) as operating_model

),

rate_values as (

    select
        period_measures.operating_model,
        period_measures.measure,
        quantile_cont(period_measures.measure_value, 0.5) as measure_value,
        quantile_cont(period_measures.measure_value, 0.85) as p85,
        count(distinct period_measures.service) as n_services,
        sum(period_measures.n_events) as n_events,
        count(period_measures.measure_value) as n_values
    from period_measures
    inner join measures
        on period_measures.measure = measures.measure
    where
        period_measures.period_kind = 'comparison'
        and measures.aggregation = 'median of service rates'
        and period_measures.measure_value is not null
    group by period_measures.operating_model, period_measures.measure

),

duration_values as (

    select
        periods.operating_model,
        period_events.measure,
        quantile_cont(period_events.value_hours, 0.5) as measure_value,
        quantile_cont(period_events.value_hours, 0.85) as p85,
        count(distinct periods.service) as n_services,
        count(*) as n_events,
        count(*) as n_values
    from period_events
    inner join periods
        on period_events.period_id = periods.period_id
    where periods.period_kind = 'comparison'
    group by periods.operating_model, period_events.measure

),

measured as (

    select * from rate_values
    union all
    select * from duration_values

),

table_1 as (

    select
        measures.measure,
        measures.display_order,
        measures.measure_kind,
        measures.unit,
        measures.aggregation,
        operating_models.operating_model,
        measured.measure_value,
        measured.p85,
        coalesce(measured.n_services, 0) as n_services,
        coalesce(measured.n_events, 0) as n_events,
        coalesce(measured.n_values, 0) as n_values
    from measures
    cross join operating_models
    left join measured
        on
            measures.measure = measured.measure
            and operating_models.operating_model = measured.operating_model

)

select
    table_1.measure,
    table_1.operating_model,
    table_1.measure_value as value,  -- noqa: RF04
    table_1.unit,
    playbook_bands.band,
    case when table_1.n_values < 5 then 'low' else 'normal' end as band_confidence,
    dora_bands.band as dora_band,
    table_1.p85,
    cast(table_1.n_services as integer) as n_services,
    cast(table_1.n_events as integer) as n_events,
    table_1.aggregation,
    cast(table_1.display_order as integer) as display_order,
    cast(run_parameters.window_start_at as date) as window_start,
    cast(run_parameters.window_end_at as date) as window_end,
    run_parameters.window_days,
    run_parameters.as_of_date as as_of
from table_1
cross join run_parameters
left join bands as playbook_bands
    on
        playbook_bands.band_set = 'playbook'
        and table_1.measure_kind = playbook_bands.measure_kind
        and (playbook_bands.measure = '*' or table_1.measure = playbook_bands.measure)
        and {{ band_matches('table_1.measure_value', 'playbook_bands') }}
left join bands as dora_bands
    on
        dora_bands.band_set = 'dora_2023'
        and table_1.measure_kind = dora_bands.measure_kind
        and (dora_bands.measure = '*' or table_1.measure = dora_bands.measure)
        and {{ band_matches('table_1.measure_value', 'dora_bands') }}
