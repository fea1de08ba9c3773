-- What each service period cost, per dimension (measure) and component, in the catalog's money; every period has a
-- row for every component, zero when nothing happened:
--   the events' costs (int_cost_events) falling in the period by their own timestamp;
--   service_reliability_cost downtime: the period's downtime hours (impacting incidents' union, clipped to the
--     period) x the service's cost of unavailability per hour;
--   service_reliability_cost on_call_allowance: the weeks of the period the service's on-call team covered it x
--     the service's share of that team's weekly allowance (int_on_call_coverage).
-- cost_kind: opportunity (what the business loses: delay, downtime) or run (what running the service costs: people's
-- time, on-call allowances).
-- is_priced: whether the catalog gives the service's own cost that prices the dimension (cost of delay for
-- deployment throughput; cost of unavailability for service reliability and learning culture). A component whose
-- input is missing (a team without costs) adds nothing, and n_unpriced counts what it left out.
with

periods as (

    select * from {{ ref('int_service_periods') }}

),

cost_events as (

    select * from {{ ref('int_cost_events') }}

),

downtime_intervals as (

    select * from {{ ref('int_downtime_intervals') }}

),

on_call_coverage as (

    select * from {{ ref('int_on_call_coverage') }}

),

services as (

    select * from {{ ref('int_services') }}

),

event_costs as (

    select
        periods.period_id,
        cost_events.measure,
        cost_events.component,
        sum(cost_events.hours) as hours,
        coalesce(sum(cost_events.amount), 0) as amount,
        count(*) as n_events,
        count_if(cost_events.amount is null) as n_unpriced
    from periods
    inner join cost_events
        on
            periods.service = cost_events.service
            and periods.start_at <= cost_events.event_at
            and periods.end_at > cost_events.event_at
    group by periods.period_id, cost_events.measure, cost_events.component

),

-- the hours each downtime interval and each on-call segment share with each period, and what an hour of it costs
period_overlaps as (

    select
        periods.period_id,
        'downtime' as component,
        {{ overlap_hours(
            'downtime_intervals.start_at', 'downtime_intervals.end_at', 'periods.start_at', 'periods.end_at'
        ) }} as hours,
        services.cost_of_unavailability_per_hour as rate_per_hour
    from periods
    inner join services
        on periods.service = services.service
    inner join downtime_intervals
        on
            periods.service = downtime_intervals.service
            and periods.end_at > downtime_intervals.start_at
            and periods.start_at < downtime_intervals.end_at

    union all

    select
        periods.period_id,
        'on_call_allowance' as component,
        {{ overlap_hours(
            'on_call_coverage.start_at', 'on_call_coverage.end_at', 'periods.start_at', 'periods.end_at'
        ) }} as hours,
        on_call_coverage.allowance_share_per_week / 168.0 as rate_per_hour
    from periods
    inner join on_call_coverage
        on
            periods.service = on_call_coverage.service
            and periods.end_at > on_call_coverage.start_at
            and periods.start_at < on_call_coverage.end_at

),

overlap_costs as (

    select
        period_id,
        'service_reliability_cost' as measure,
        component,
        sum(hours) as hours,
        coalesce(sum(hours * rate_per_hour), 0) as amount,
        count(*) as n_events,
        count_if(rate_per_hour is null) as n_unpriced
    from period_overlaps
    group by period_id, component

),

cost_components as (

    select
        cost_component.measure,
        cost_component.component,
        cost_component.cost_kind
    from (
        values
        ('deployment_throughput_cost', 'delay', 'opportunity'),
        ('service_reliability_cost', 'downtime', 'opportunity'),
        ('service_reliability_cost', 'responder_time', 'run'),
        ('service_reliability_cost', 'on_call_allowance', 'run'),
        ('learning_culture_cost', 'repeat_downtime', 'opportunity'),
        ('learning_culture_cost', 'repeat_responder_time', 'run')
    ) as cost_component (measure, component, cost_kind)

),

computed as (

    select * from event_costs
    union all
    select * from overlap_costs

),

components as (

    select
        periods.period_id,
        cost_components.measure,
        cost_components.component,
        cost_components.cost_kind,
        coalesce(computed.hours, 0) as hours,
        coalesce(computed.amount, 0) as amount,
        coalesce(computed.n_events, 0) as n_events,
        coalesce(computed.n_unpriced, 0) as n_unpriced
    from periods
    cross join cost_components
    left join computed
        on
            periods.period_id = computed.period_id
            and cost_components.measure = computed.measure
            and cost_components.component = computed.component

)

-- one row per period, measure and component (no id column: a concatenated string per row is a large share of writing
-- the model at 1,000 services x 730 days)
select
    components.period_id,
    periods.period_kind,
    periods.service,
    periods.operating_model,
    components.measure,
    components.component,
    components.cost_kind,
    components.hours,
    components.amount,
    cast(components.n_events as integer) as n_events,
    cast(components.n_unpriced as integer) as n_unpriced,
    case
        when components.measure = 'deployment_throughput_cost' then services.cost_of_delay_per_week is not null
        else services.cost_of_unavailability_per_hour is not null
    end as is_priced
from components
inner join periods
    on components.period_id = periods.period_id
inner join services
    on periods.service = services.service
