-- The events behind the learning-predisposition shares of Table 1, one row per measure and event, with whether the
-- event counts for the share (is_hit). Each event sits at its own timestamp (event_at), so a period takes the events
-- it holds, in the model in effect then. Reviews and completions count as of the as-of instant.
--   incidents_reviewed_rate       an impacting incident, at triggered_at; hit: it has a published review
--   reviews_with_actions_rate     a published review, at published_at; hit: at least one action links to it
--   actions_completed_in_30_days_rate
--                                 an action of a published review, at the review's published_at; hit: completed at
--                                 most learning_follow_up_days (30 x 24 hours) after the review was published
--   repeat_incident_rate          a resolved impacting incident with a published review, at triggered_at; hit:
--                                 another impacting incident of its service triggered after it resolved and at most
--                                 learning_follow_up_days later
-- An action or incident is judged only once its follow-up days have passed by the as-of instant: judging earlier
-- would count the ones that failed early and leave out the ones still in time.
with

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

impacting_incidents as (

    select * from incidents
    where is_impacting

),

published_reviews as (

    select * from reviews
    where is_published

),

-- an incident is reviewed once, by its first published review
reviewed_incidents as (

    select
        incident_id,
        min(published_at) as first_published_at
    from published_reviews
    where incident_id is not null
    group by incident_id

),

reviews_with_actions as (

    select distinct review_id
    from actions
    where review_id is not null

),

incidents_reviewed as (

    select
        'incidents_reviewed_rate' as measure,
        impacting_incidents.service,
        impacting_incidents.incident_id as event_id,
        impacting_incidents.triggered_at as event_at,
        reviewed_incidents.incident_id is not null as is_hit
    from impacting_incidents
    left join reviewed_incidents
        on impacting_incidents.incident_id = reviewed_incidents.incident_id

),

reviews_acted_on as (

    select
        'reviews_with_actions_rate' as measure,
        published_reviews.service,
        published_reviews.review_id as event_id,
        published_reviews.published_at as event_at,
        reviews_with_actions.review_id is not null as is_hit
    from published_reviews
    left join reviews_with_actions
        on published_reviews.review_id = reviews_with_actions.review_id

),

actions_completed_in_time as (

    select
        'actions_completed_in_30_days_rate' as measure,
        published_reviews.service,
        actions.action_id as event_id,
        published_reviews.published_at as event_at,
        -- completed_at is null while open (or completed after the as-of instant); an action done before its review
        -- was published is done in time
        coalesce(
            {{ days_between('published_reviews.published_at', 'actions.completed_at') }}
            <= run_parameters.learning_follow_up_days,
            false
        ) as is_hit
    from actions
    inner join published_reviews
        on actions.review_id = published_reviews.review_id
    cross join run_parameters
    where
        {{ days_between('published_reviews.published_at', 'run_parameters.as_of_at') }}
        >= run_parameters.learning_follow_up_days

),

followed_up_incidents as (

    select impacting_incidents.*
    from impacting_incidents
    inner join reviewed_incidents
        on impacting_incidents.incident_id = reviewed_incidents.incident_id
    cross join run_parameters
    where
        impacting_incidents.resolved_at is not null
        and not impacting_incidents.has_invalid_timeline
        and {{ days_between('impacting_incidents.resolved_at', 'run_parameters.as_of_at') }}
        >= run_parameters.learning_follow_up_days

),

repeats as (

    select distinct followed_up_incidents.incident_id
    from followed_up_incidents
    cross join run_parameters
    inner join impacting_incidents as later_incidents
        on
            followed_up_incidents.service = later_incidents.service
            and followed_up_incidents.resolved_at < later_incidents.triggered_at
            and {{ days_between('followed_up_incidents.resolved_at', 'later_incidents.triggered_at') }}
            <= run_parameters.learning_follow_up_days

),

repeat_incidents as (

    select
        'repeat_incident_rate' as measure,
        followed_up_incidents.service,
        followed_up_incidents.incident_id as event_id,
        followed_up_incidents.triggered_at as event_at,
        repeats.incident_id is not null as is_hit
    from followed_up_incidents
    left join repeats
        on followed_up_incidents.incident_id = repeats.incident_id

)

select * from incidents_reviewed
union all
select * from reviews_acted_on
union all
select * from actions_completed_in_time
union all
select * from repeat_incidents
