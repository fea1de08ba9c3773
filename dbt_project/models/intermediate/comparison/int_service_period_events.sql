-- The duration events behind each period's medians, one row per event, in hours. Each event falls in the period
-- holding its own timestamp (so it takes the model in effect then):
--   deployment_lead_time      a shipped change, at its deployment's deployed_at (non-positive ones excluded)
--   time_to_restore           a resolved impacting incident, at triggered_at
--   time_to_generate_insights a published review, at published_at
--   time_to_implement_actions a completed action, at completed_at; and every action still open at the period's
--                             end, with its age then (open actions keep their age)
with

periods as (

    select * from {{ ref('int_service_periods') }}

),

change_shipments as (

    select * from {{ ref('int_change_shipments') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

reviews as (

    select * from {{ ref('int_incident_reviews') }}

),

actions as (

    select * from {{ ref('int_improvement_actions') }}

),

timed_events as (

    select
        'deployment_lead_time' as measure,
        service,
        change_id as event_id,
        deployed_at as event_at,
        deployment_lead_time_hours as value_hours
    from change_shipments
    where deployment_lead_time_hours is not null

    union all

    select
        'time_to_restore' as measure,
        service,
        incident_id as event_id,
        triggered_at as event_at,
        time_to_restore_minutes / 60.0 as value_hours
    from incidents
    where
        is_impacting
        and time_to_restore_minutes is not null

    union all

    select
        'time_to_generate_insights' as measure,
        service,
        review_id as event_id,
        published_at as event_at,
        time_to_generate_insights_hours as value_hours
    from reviews
    where time_to_generate_insights_hours is not null

    union all

    select
        'time_to_implement_actions' as measure,
        service,
        action_id as event_id,
        completed_at as event_at,
        time_to_implement_actions_days * 24 as value_hours
    from actions
    where time_to_implement_actions_days is not null

),

period_timed_events as (

    select
        periods.period_id,
        timed_events.measure,
        timed_events.event_id,
        timed_events.event_at,
        timed_events.value_hours,
        false as is_open_action
    from periods
    inner join timed_events
        on
            periods.service = timed_events.service
            and periods.start_at <= timed_events.event_at
            and periods.end_at > timed_events.event_at

),

open_actions_at_period_end as (

    select
        periods.period_id,
        'time_to_implement_actions' as measure,
        actions.action_id as event_id,
        periods.end_at as event_at,
        {{ hours_between('actions.created_at', 'periods.end_at') }} as value_hours,
        true as is_open_action
    from periods
    inner join actions
        on
            periods.service = actions.service
            and periods.end_at > actions.created_at
            and (actions.completed_at is null or periods.end_at <= actions.completed_at)

)

select * from period_timed_events
union all
select * from open_actions_at_period_end
