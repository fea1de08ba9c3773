-- The learning loop per service and local week: reviews of the week's incidents, insights published, actions
-- created, completed and still open.
with

service_weeks as (

    select * from {{ ref('int_service_weeks') }}

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

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

published_reviews_by_incident as (

    select distinct incident_id
    from reviews
    where
        is_published
        and incident_id is not null

),

weekly_incidents as (

    select
        incidents.service,
        {{ local_week_start('incidents.triggered_at', 'run_parameters.timezone') }} as week_start,
        count(*) as impacting_incidents,
        count(published_reviews_by_incident.incident_id) as reviewed_incidents
    from incidents
    cross join run_parameters
    left join published_reviews_by_incident
        on incidents.incident_id = published_reviews_by_incident.incident_id
    where incidents.is_impacting
    group by all

),

weekly_reviews as (

    select
        reviews.service,
        {{ local_week_start('reviews.published_at', 'run_parameters.timezone') }} as week_start,
        count(*) as reviews_published,
        quantile_cont(reviews.time_to_generate_insights_hours, 0.5) as median_time_to_generate_insights_hours,
        count(reviews.time_to_generate_insights_hours) as n_insight_times
    from reviews
    cross join run_parameters
    where reviews.is_published
    group by all

),

weekly_actions_created as (

    select
        actions.service,
        {{ local_week_start('actions.created_at', 'run_parameters.timezone') }} as week_start,
        count(*) as actions_created
    from actions
    cross join run_parameters
    group by all

),

weekly_actions_completed as (

    select
        actions.service,
        {{ local_week_start('actions.completed_at', 'run_parameters.timezone') }} as week_start,
        count(*) as actions_completed,
        quantile_cont(actions.time_to_implement_actions_days, 0.5) as median_time_to_implement_actions_days,
        count(actions.time_to_implement_actions_days) as n_implementation_times
    from actions
    cross join run_parameters
    where actions.completed_at is not null
    group by all

),

weekly_open_actions as (

    select
        service_weeks.service_week_id,
        count(*) as open_actions
    from service_weeks
    inner join actions
        on
            service_weeks.service = actions.service
            and service_weeks.period_end_at > actions.created_at
            and (actions.completed_at is null or service_weeks.period_end_at <= actions.completed_at)
    group by service_weeks.service_week_id

)

select
    service_weeks.service,
    service_weeks.week_start,
    service_weeks.iso_week,
    service_weeks.operating_model,
    service_weeks.has_operating_model_change,
    cast(coalesce(weekly_incidents.impacting_incidents, 0) as integer) as impacting_incidents,
    cast(coalesce(weekly_incidents.reviewed_incidents, 0) as integer) as reviewed_incidents,
    100.0 * weekly_incidents.reviewed_incidents / nullif(weekly_incidents.impacting_incidents, 0)
        as incidents_reviewed_pct,
    cast(coalesce(weekly_reviews.reviews_published, 0) as integer) as reviews_published,
    weekly_reviews.median_time_to_generate_insights_hours,
    cast(coalesce(weekly_reviews.n_insight_times, 0) as integer) as n_insight_times,
    cast(coalesce(weekly_actions_created.actions_created, 0) as integer) as actions_created,
    cast(coalesce(weekly_actions_completed.actions_completed, 0) as integer) as actions_completed,
    weekly_actions_completed.median_time_to_implement_actions_days,
    cast(coalesce(weekly_actions_completed.n_implementation_times, 0) as integer) as n_implementation_times,
    cast(coalesce(weekly_open_actions.open_actions, 0) as integer) as open_actions
from service_weeks
left join weekly_incidents
    on
        service_weeks.service = weekly_incidents.service
        and service_weeks.week_start = weekly_incidents.week_start
left join weekly_reviews
    on
        service_weeks.service = weekly_reviews.service
        and service_weeks.week_start = weekly_reviews.week_start
left join weekly_actions_created
    on
        service_weeks.service = weekly_actions_created.service
        and service_weeks.week_start = weekly_actions_created.week_start
left join weekly_actions_completed
    on
        service_weeks.service = weekly_actions_completed.service
        and service_weeks.week_start = weekly_actions_completed.week_start
left join weekly_open_actions
    on service_weeks.service_week_id = weekly_open_actions.service_week_id
