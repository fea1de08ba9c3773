-- A fingerprint of everything a service week's measures read (int_service_period_measures), one row per service and
-- local week: the week's periods and, keyed by the week they fall in, every row of the model's inputs that can count
-- in them. A daily run measures again only the weeks whose fingerprint changed (new or changed events, the current
-- week's end moving with as-of), and keeps the others' rows.
-- An input row is keyed by every week it may count in (more is safe: the week is measured again for nothing); a row
-- left out of a week it counts in would keep that week's old figures, so every input of the measures is here.
-- The fingerprint is the count and the sum of the rows' hashes: unlike XOR, a repeated row does not cancel out.
with

period_events as (

    select * from {{ ref('int_service_period_events') }}

),

period_costs as (

    select * from {{ ref('int_service_period_costs') }}

),

downtime_intervals as (

    select * from {{ ref('int_downtime_intervals') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

learning_outcomes as (

    select * from {{ ref('int_learning_outcomes') }}

),

paging_outcomes as (

    select * from {{ ref('int_paging_outcomes') }}

),

pages as (

    select * from {{ ref('int_pages') }}

),

attributions as (

    select * from {{ ref('int_incident_attributions') }}

),

deployments as (

    select * from {{ ref('int_deployments') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

weeks as (

    select * from {{ ref('int_service_periods') }}
    where period_kind = 'week'

),

week_events as (

    select
        weeks.service,
        weeks.week_start,
        hash(period_events) as row_hash
    from period_events
    inner join weeks
        on period_events.period_id = weeks.period_id

),

week_costs as (

    select
        weeks.service,
        weeks.week_start,
        hash(period_costs) as row_hash
    from (
        -- sums of money, whose last digits vary with the order DuckDB adds them in from one build to the next
        select * replace (round(hours, 6) as hours, round(amount, 6) as amount)
        from period_costs
    ) as period_costs
    inner join weeks
        on period_costs.period_id = weeks.period_id

),

deployed as (

    select
        deployments.service,
        deployments.deployment_id,
        deployments.deployed_at,
        hash(deployments.deployment_id, deployments.counts_as_deployment, deployments.deployed_at) as row_hash
    from deployments
    where deployments.deployed_at is not null

),

-- a change-failure attribution counts in its deployment's week
attributed as (

    select
        deployed.service,
        deployed.deployed_at,
        hash(attributions.service, attributions.deployment_id) as row_hash
    from attributions
    inner join deployed
        on
            attributions.service = deployed.service
            and attributions.deployment_id = deployed.deployment_id

),

-- an interval counts in every week it overlaps (an incident still open, up to as-of)
intervals as (

    select
        downtime_intervals.service,
        downtime_intervals.start_at,
        downtime_intervals.end_at,
        hash(downtime_intervals) as row_hash
    from downtime_intervals

    union all

    select
        incidents.service,
        incidents.triggered_at as start_at,
        coalesce(incidents.resolved_at, run_parameters.as_of_at) as end_at,
        hash(incidents) as row_hash
    from incidents
    cross join run_parameters

),

interval_weeks as (

    select
        intervals.service,
        cast(unnest(range(
            cast(
                {{ local_week_start('least(intervals.start_at, intervals.end_at)', 'run_parameters.timezone') }}
                as timestamp
            ),
            cast(
                {{ local_week_start('greatest(intervals.start_at, intervals.end_at)', 'run_parameters.timezone') }}
                as timestamp
            ) + interval 7 day,
            interval 7 day
        )) as date) as week_start,
        intervals.row_hash
    from intervals
    cross join run_parameters
    where intervals.start_at is not null

),

-- events that count in the week holding their own timestamp
instants as (

    select
        service,
        deployed_at as event_at,
        row_hash
    from deployed

    union all

    select
        service,
        deployed_at,
        row_hash
    from attributed

    union all

    select
        service,
        event_at,
        hash(learning_outcomes) as row_hash
    from learning_outcomes

    union all

    select
        service,
        event_at,
        hash(paging_outcomes) as row_hash
    from paging_outcomes

    union all

    select
        service,
        paged_at,
        hash(pages.page_id, pages.responder_id, pages.paged_at) as row_hash
    from pages

),

keyed as (

    select
        weeks.service,
        weeks.week_start,
        hash(weeks) as row_hash
    from weeks

    union all

    select * from week_events

    union all

    select * from week_costs

    union all

    select * from interval_weeks

    union all

    select
        instants.service,
        {{ local_week_start('instants.event_at', 'run_parameters.timezone') }} as week_start,
        instants.row_hash
    from instants
    cross join run_parameters
    where instants.event_at is not null

)

select
    service,
    week_start,
    hash(count(*), sum(row_hash)) as inputs_fingerprint
from keyed
where service is not null
group by service, week_start
