-- One row per improvement action.
with

actions as (

    select * from {{ ref('int_improvement_actions') }}

)

select
    action_id,
    source,
    action_key,
    review_id,
    incident_id,
    service,
    workflow_status,
    issue_summary,
    created_at,
    completed_at,
    is_open,
    time_to_implement_actions_days,
    age_days,
    has_negative_duration,
    operating_model
from actions
