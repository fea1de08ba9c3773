-- Improvement actions of every source with their review and time to implement (completed_at - created_at).
-- Open actions keep their age as of the as-of instant.
with

actions as (

    select * from {{ ref('int_actions_unioned') }}

),

reviews as (

    select * from {{ ref('int_incident_reviews') }}

),

action_links as (

    select
        action_id,
        unnest(linked_keys) as linked_issue_key
    from actions

),

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

-- an action names its review through an issue link; with several, the first review key wins
action_reviews as (

    select
        action_links.action_id,
        reviews.review_id,
        reviews.incident_id,
        reviews.service
    from action_links
    inner join reviews
        on action_links.linked_issue_key = reviews.review_key
    qualify row_number() over (partition by action_links.action_id order by reviews.review_key) = 1

),

as_of_actions as (

    select
        actions.action_id,
        actions.source,
        actions.source_table,
        actions.record_id,
        actions.action_key,
        action_reviews.review_id,
        action_reviews.incident_id,
        coalesce(action_reviews.service, actions.service) as service,
        actions.workflow_status,
        actions.summary as issue_summary,
        actions.created_at,
        case when actions.completed_at < run_parameters.as_of_at then actions.completed_at end as completed_at,
        run_parameters.as_of_at
    from actions
    cross join run_parameters
    left join action_reviews
        on actions.action_id = action_reviews.action_id
    where actions.created_at < run_parameters.as_of_at

),

measured as (

    select
        *,
        completed_at is null as is_open,
        {{ days_between('created_at', 'completed_at') }} as measured_time_to_implement_days,
        {{ days_between('created_at', 'coalesce(completed_at, as_of_at)') }} as age_days,
        coalesce(completed_at, as_of_at) as measured_at
    from as_of_actions

)

select
    measured.action_id,
    measured.source,
    measured.source_table,
    measured.record_id,
    measured.action_key,
    measured.review_id,
    measured.incident_id,
    measured.service,
    measured.workflow_status,
    measured.issue_summary,
    measured.created_at,
    measured.completed_at,
    measured.is_open,
    case when measured.measured_time_to_implement_days >= 0 then measured.measured_time_to_implement_days end
        as time_to_implement_actions_days,
    -- completed: its time to implement; open: its age at the as-of instant
    measured.age_days,
    coalesce(measured.measured_time_to_implement_days < 0, false) as has_negative_duration,
    -- the model in effect when the action was completed (at the as-of instant while it is open)
    operating_model_periods.operating_model
from measured
left join operating_model_periods
    on
        measured.service = operating_model_periods.service
        and measured.measured_at >= operating_model_periods.valid_from_at
        and (
            measured.measured_at < operating_model_periods.valid_to_at
            or operating_model_periods.valid_to_at is null
        )
