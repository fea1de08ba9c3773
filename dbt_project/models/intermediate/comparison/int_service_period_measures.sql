-- Each measure of each service period: the service's own figure for that period.
-- Rates: deployments per week, availability (percent), change failure rate (percent of deployments), and the
-- learning and paging shares (percent of the period's int_learning_outcomes and int_paging_outcomes events that count,
-- e.g. incidents reviewed, incidents first answered by the owning product team), pages per on-call person per week.
-- Durations: the median (interpolated) and 85th percentile of the period's events, in hours.
-- Costs: the period's cost of each dimension (int_service_period_costs) as money per year (365.25 days); none for a
-- service the catalog does not price.
-- n_events says how many events are behind each value.
with

periods as (

    select * from {{ ref('int_service_periods') }}

),

period_events as (

    select * from {{ ref('int_service_period_events') }}

),

deployments as (

    select * from {{ ref('int_deployments') }}

),

attributions as (

    select * from {{ ref('int_incident_attributions') }}

),

downtime_intervals as (

    select * from {{ ref('int_downtime_intervals') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

learning_outcomes as (

    -- the learning shares' events and the paging shares' (who answers first, pages out of hours), alike
    select
        measure,
        service,
        event_id,
        event_at,
        is_hit
    from {{ ref('int_learning_outcomes') }}
    union all
    select
        measure,
        service,
        event_id,
        event_at,
        is_hit
    from {{ ref('int_paging_outcomes') }}

),

pages as (

    select * from {{ ref('int_pages') }}

),

period_costs as (

    select * from {{ ref('int_service_period_costs') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

failed_deployments as (

    select distinct
        service,
        deployment_id
    from attributions

),

period_deployments as (

    select
        periods.period_id,
        count(deployments.deployment_id) as n_deployments,
        count(failed_deployments.deployment_id) as n_failed_deployments
    from periods
    left join deployments
        on
            periods.service = deployments.service
            and deployments.counts_as_deployment
            and periods.start_at <= deployments.deployed_at
            and periods.end_at > deployments.deployed_at
    left join failed_deployments
        on
            deployments.service = failed_deployments.service
            and deployments.deployment_id = failed_deployments.deployment_id
    group by periods.period_id

),

period_downtime as (

    select
        periods.period_id,
        coalesce(sum(
            {{ minutes_between(
                'greatest(downtime_intervals.start_at, periods.start_at)',
                'least(downtime_intervals.end_at, periods.end_at)'
            ) }}
        ), 0) as downtime_minutes
    from periods
    left join downtime_intervals
        on
            periods.service = downtime_intervals.service
            and periods.end_at > downtime_intervals.start_at
            and periods.start_at < downtime_intervals.end_at
    group by periods.period_id

),

-- impacting incidents that were open at some point of the period
period_incidents as (

    select
        periods.period_id,
        count(incidents.incident_id) as n_incidents
    from periods
    cross join run_parameters
    left join incidents
        on
            periods.service = incidents.service
            and incidents.is_impacting
            and not incidents.has_invalid_timeline
            and periods.end_at > incidents.triggered_at
            and periods.start_at < coalesce(incidents.resolved_at, run_parameters.as_of_at)
    group by periods.period_id

),

-- pages of the period (by paged_at) and the distinct people they reached
period_pages as (

    select
        periods.period_id,
        count(pages.page_id) as n_pages,
        count(distinct pages.responder_id) as n_responders
    from periods
    left join pages
        on
            periods.service = pages.service
            and periods.start_at <= pages.paged_at
            and periods.end_at > pages.paged_at
    group by periods.period_id

),

rates as (

    select
        periods.period_id,
        'deployment_frequency' as measure,
        period_deployments.n_deployments / (periods.period_days / 7.0) as measure_value,
        cast(null as double) as p85,
        period_deployments.n_deployments as n_events
    from periods
    inner join period_deployments
        on periods.period_id = period_deployments.period_id

    union all

    select
        periods.period_id,
        'change_failure_rate' as measure,
        -- no deployment, no rate
        100.0 * period_deployments.n_failed_deployments / nullif(period_deployments.n_deployments, 0) as measure_value,
        cast(null as double) as p85,
        period_deployments.n_deployments as n_events
    from periods
    inner join period_deployments
        on periods.period_id = period_deployments.period_id

    union all

    select
        periods.period_id,
        'availability_level' as measure,
        100.0 * (1 - period_downtime.downtime_minutes / (periods.period_days * 1440.0)) as measure_value,
        cast(null as double) as p85,
        period_incidents.n_incidents as n_events
    from periods
    inner join period_downtime
        on periods.period_id = period_downtime.period_id
    inner join period_incidents
        on periods.period_id = period_incidents.period_id

    union all

    select
        periods.period_id,
        'pages_per_oncall_person_per_week' as measure,
        -- nobody paged, no figure: a quiet service is not a service whose people are never paged
        period_pages.n_pages / nullif(period_pages.n_responders, 0) / (periods.period_days / 7.0) as measure_value,
        cast(null as double) as p85,
        period_pages.n_pages as n_events
    from periods
    inner join period_pages
        on periods.period_id = period_pages.period_id

),

share_measures as (

    select
        unnest([
            'incidents_reviewed_rate', 'reviews_with_actions_rate', 'actions_completed_in_30_days_rate',
            'repeat_incident_rate', 'developer_operability_incentives', 'out_of_hours_page_rate'
        ]) as measure

),

-- each learning event falls in the period holding its own timestamp; no event, no share
shares as (

    select
        periods.period_id,
        share_measures.measure,
        100.0 * count_if(learning_outcomes.is_hit) / nullif(count(learning_outcomes.event_id), 0) as measure_value,
        cast(null as double) as p85,
        count(learning_outcomes.event_id) as n_events
    from periods
    cross join share_measures
    left join learning_outcomes
        on
            periods.service = learning_outcomes.service
            and share_measures.measure = learning_outcomes.measure
            and periods.start_at <= learning_outcomes.event_at
            and periods.end_at > learning_outcomes.event_at
    group by periods.period_id, share_measures.measure

),

duration_measures as (

    select
        unnest([
            'deployment_lead_time', 'time_to_restore', 'time_to_generate_insights', 'time_to_implement_actions'
        ]) as measure

),

durations as (

    select
        periods.period_id,
        duration_measures.measure,
        quantile_cont(period_events.value_hours, 0.5) as measure_value,
        quantile_cont(period_events.value_hours, 0.85) as p85,
        count(period_events.value_hours) as n_events
    from periods
    cross join duration_measures
    left join period_events
        on
            periods.period_id = period_events.period_id
            and duration_measures.measure = period_events.measure
    group by periods.period_id, duration_measures.measure

),

costs as (

    select
        periods.period_id,
        period_costs.measure,
        case
            when
                bool_and(period_costs.is_priced)
                then sum(period_costs.amount) / (any_value(periods.period_days) / 365.25)
        end as measure_value,
        cast(null as double) as p85,
        sum(period_costs.n_events) as n_events
    from periods
    inner join period_costs
        on periods.period_id = period_costs.period_id
    group by periods.period_id, period_costs.measure

),

measured as (

    select * from rates
    union all
    select * from costs
    union all
    select * from shares
    union all
    select * from durations

)

-- one row per period and measure (no id column: 1.8 million concatenated strings at 1,000 services x 730 days cost
-- about a fifth of the model's build)
select
    periods.period_id,
    periods.period_kind,
    periods.migration_id,
    periods.week_start,
    periods.service,
    periods.operating_model,
    periods.start_at,
    periods.end_at,
    periods.period_days,
    measured.measure,
    measured.measure_value,
    measured.p85,
    measured.n_events
from periods
inner join measured
    on periods.period_id = measured.period_id
