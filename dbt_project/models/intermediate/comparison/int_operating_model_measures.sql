-- Each measure per operating model, over the comparison window and over each local week: the rule of Table 1 in one
-- place, so the comparison and its weekly trend cannot drift apart.
-- Rates (deployment frequency, availability, change failure rate): each service's figure for its time in the model
-- within the period, then the median across those figures. Durations: the pooled median of all the model's events.
-- Costs: pooled per service-year, the model's total cost over the priced services' time in it (so a service counts
-- for the time it spent in the model).
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

rate_values as (

    select
        period_measures.period_kind,
        period_measures.week_start,
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
        period_measures.period_kind in ('comparison', 'week')
        and measures.aggregation = 'median of service rates'
        and period_measures.measure_value is not null
    group by
        period_measures.period_kind,
        period_measures.week_start,
        period_measures.operating_model,
        period_measures.measure

),

cost_values as (

    select
        period_measures.period_kind,
        period_measures.week_start,
        period_measures.operating_model,
        period_measures.measure,
        sum(period_measures.measure_value * period_measures.period_days) / sum(period_measures.period_days)
            as measure_value,
        cast(null as double) as p85,
        count(distinct period_measures.service) as n_services,
        sum(period_measures.n_events) as n_events,
        count(period_measures.measure_value) as n_values
    from period_measures
    inner join measures
        on period_measures.measure = measures.measure
    where
        period_measures.period_kind in ('comparison', 'week')
        and measures.aggregation = 'pooled per service year'
        and period_measures.measure_value is not null
    group by
        period_measures.period_kind,
        period_measures.week_start,
        period_measures.operating_model,
        period_measures.measure

),

duration_values as (

    select
        periods.period_kind,
        periods.week_start,
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
    where periods.period_kind in ('comparison', 'week')
    group by periods.period_kind, periods.week_start, periods.operating_model, period_events.measure

)

select * from rate_values
union all
select * from cost_values
union all
select * from duration_values
