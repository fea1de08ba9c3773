-- One row per post-incident review.
with

reviews as (

    select * from {{ ref('int_incident_reviews') }}

)

select
    review_id,
    source,
    review_key,
    service,
    incident_id,
    incident_reference,
    workflow_status,
    issue_summary,
    created_at,
    published_at,
    is_published,
    incident_resolved_at,
    time_to_generate_insights_hours,
    has_non_positive_duration,
    operating_model
from reviews
