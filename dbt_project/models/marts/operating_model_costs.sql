-- What each operating model costs per dimension, split into its components, over the comparison window: money per
-- service per year, pooled (the component's cost over the priced services' years in the model). The totals per
-- dimension are the *_cost rows of operating_model_comparison; the assumptions behind them are cost_assumptions.
with

period_costs as (

    select * from {{ ref('int_service_period_costs') }}

),

periods as (

    select * from {{ ref('int_service_periods') }}

),

operating_models as (

    select * from {{ ref('operating_models') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

priced as (

    select
        period_costs.measure,
        period_costs.component,
        period_costs.cost_kind,
        period_costs.operating_model,
        sum(period_costs.amount) as amount,
        sum(period_costs.hours) as hours,
        sum(periods.period_days) / 365.25 as service_years,
        count(distinct period_costs.service) as n_services,
        sum(period_costs.n_events) as n_events,
        sum(period_costs.n_unpriced) as n_unpriced
    from period_costs
    inner join periods
        on period_costs.period_id = periods.period_id
    where
        period_costs.period_kind = 'comparison'
        and period_costs.is_priced
    group by period_costs.measure, period_costs.component, period_costs.cost_kind, period_costs.operating_model

)

select
    priced.measure || ':' || priced.component || ':' || priced.operating_model as operating_model_cost_id,
    priced.measure,
    priced.component,
    priced.cost_kind,
    priced.operating_model,
    operating_models.label as operating_model_label,
    priced.amount / nullif(priced.service_years, 0) as cost_per_service_year,
    run_parameters.currency,
    priced.amount,
    priced.hours,
    priced.service_years,
    cast(priced.n_services as integer) as n_services,
    cast(priced.n_events as integer) as n_events,
    cast(priced.n_unpriced as integer) as n_unpriced,
    cast(run_parameters.window_start_at as date) as window_start,
    cast(run_parameters.window_end_at as date) as window_end
from priced
cross join run_parameters
inner join operating_models
    on priced.operating_model = operating_models.operating_model
