-- The costs that attach to one event, one row per event and cost component, in the catalog's money:
--   deployment_throughput_cost  delay              a shipped change, at deployed_at: its deployment lead time
--                                                  (merged to deployed, in weeks) x the service's cost of delay
--   service_reliability_cost    responder_time     a page, at paged_at: the hours from the page to the incident's
--                                                  resolution (or the as-of instant) x the responder's team's
--                                                  hourly cost
--   learning_culture_cost       repeat_downtime    a repeat incident, at triggered_at: its hours to restore (or to
--                                                  the as-of instant) x the service's cost of unavailability
--   learning_culture_cost       repeat_responder_time  a page of a repeat incident, as responder_time
-- A repeat incident is an impacting incident triggered at most learning_follow_up_days after an earlier impacting
-- incident of its service resolved, reviewed or not: what a learning loop would have prevented.
-- Downtime and on-call allowances belong to periods, not events (int_service_period_costs).
-- An amount whose input the catalog does not give is null (rate_per_hour null), never a guess.
with

change_shipments as (

    select * from {{ ref('int_change_shipments') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

pages as (

    select * from {{ ref('int_pages') }}

),

services as (

    select * from {{ ref('int_services') }}

),

teams as (

    select * from {{ ref('stg_catalog__teams') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

impacting_incidents as (

    select * from incidents
    where
        is_impacting
        and not has_invalid_timeline

),

repeat_incidents as (

    select distinct later_incidents.*
    from impacting_incidents as later_incidents
    cross join run_parameters
    inner join impacting_incidents as earlier_incidents
        on
            later_incidents.service = earlier_incidents.service
            and (later_incidents.source, later_incidents.incident_id)
            <> (earlier_incidents.source, earlier_incidents.incident_id)
            and later_incidents.triggered_at >= earlier_incidents.resolved_at
            and {{ days_between('earlier_incidents.resolved_at', 'later_incidents.triggered_at') }}
            <= run_parameters.learning_follow_up_days

),

page_hours as (

    select
        pages.page_id,
        pages.source,
        pages.service,
        pages.incident_id,
        pages.paged_at,
        teams.hourly_cost,
        greatest(
            {{ hours_between('pages.paged_at', 'coalesce(incidents.resolved_at, run_parameters.as_of_at)') }}, 0
        ) as hours
    from pages
    cross join run_parameters
    inner join incidents
        on
            pages.source = incidents.source
            and pages.incident_id = incidents.incident_id
    left join teams
        on pages.responder_team = teams.team

),

costed as (

    select
        'deployment_throughput_cost' as measure,
        'delay' as component,
        change_shipments.service,
        change_shipments.change_id as event_id,
        change_shipments.deployed_at as event_at,
        change_shipments.deployment_lead_time_hours as hours,
        services.cost_of_delay_per_week / 168.0 as rate_per_hour
    from change_shipments
    inner join services
        on change_shipments.service = services.service
    where change_shipments.deployment_lead_time_hours is not null

    union all

    select
        'service_reliability_cost' as measure,
        'responder_time' as component,
        service,
        page_id as event_id,
        paged_at as event_at,
        hours,
        hourly_cost as rate_per_hour
    from page_hours

    union all

    select
        'learning_culture_cost' as measure,
        'repeat_downtime' as component,
        repeat_incidents.service,
        repeat_incidents.source || ':' || repeat_incidents.incident_id as event_id,
        repeat_incidents.triggered_at as event_at,
        {{ hours_between(
            'repeat_incidents.triggered_at', 'coalesce(repeat_incidents.resolved_at, run_parameters.as_of_at)'
        ) }} as hours,
        services.cost_of_unavailability_per_hour as rate_per_hour
    from repeat_incidents
    cross join run_parameters
    inner join services
        on repeat_incidents.service = services.service

    union all

    select
        'learning_culture_cost' as measure,
        'repeat_responder_time' as component,
        page_hours.service,
        page_hours.page_id as event_id,
        page_hours.paged_at as event_at,
        page_hours.hours,
        page_hours.hourly_cost as rate_per_hour
    from page_hours
    inner join repeat_incidents
        on
            page_hours.source = repeat_incidents.source
            and page_hours.incident_id = repeat_incidents.incident_id

)

-- one row per measure, component and event (no id column, as in int_service_period_costs)
select
    measure,
    component,
    service,
    event_id,
    event_at,
    hours,
    rate_per_hour,
    hours * rate_per_hour as amount
from costed
