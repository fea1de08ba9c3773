-- Post-incident reviews of every source with their incident and time to generate insights (published_at - incident
-- resolved_at). A review names its incident by a reference (the incident's URL or id, as its source's staging
-- reads it); the reference's last path segment is the incident's id.
with

reviews as (

    select * from {{ ref('int_reviews_unioned') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

referenced as (

    select reviews.*
    from reviews
    cross join run_parameters
    where reviews.created_at < run_parameters.as_of_at

),

resolved as (

    select
        referenced.review_id,
        referenced.source,
        referenced.source_table,
        referenced.record_id,
        referenced.review_key,
        referenced.workflow_status,
        referenced.summary as issue_summary,
        referenced.incident_reference,
        incidents.incident_id,
        coalesce(incidents.service, referenced.service) as service,
        incidents.resolved_at as incident_resolved_at,
        referenced.created_at,
        case when referenced.published_at < run_parameters.as_of_at then referenced.published_at end as published_at
    from referenced
    cross join run_parameters
    left join incidents
        on regexp_extract(referenced.incident_reference, '([A-Za-z0-9-]+)/*(?:[?#].*)?$', 1) = incidents.incident_id

),

measured as (

    select
        *,
        published_at is not null as is_published,
        {{ hours_between('incident_resolved_at', 'published_at') }} as measured_time_to_generate_insights_hours
    from resolved

)

select
    measured.review_id,
    measured.source,
    measured.source_table,
    measured.record_id,
    measured.review_key,
    measured.service,
    measured.incident_id,
    measured.incident_reference,
    measured.workflow_status,
    measured.issue_summary,
    measured.created_at,
    measured.published_at,
    measured.is_published,
    measured.incident_resolved_at,
    -- a review published before its incident resolved has no meaningful duration: excluded, and flagged
    case
        when measured.measured_time_to_generate_insights_hours > 0
            then measured.measured_time_to_generate_insights_hours
    end as time_to_generate_insights_hours,
    coalesce(measured.measured_time_to_generate_insights_hours <= 0, false) as has_non_positive_duration,
    -- the model in effect when the review was published (created, while in draft)
    operating_model_periods.operating_model
from measured
left join operating_model_periods
    on
        measured.service = operating_model_periods.service
        and coalesce(measured.published_at, measured.created_at) >= operating_model_periods.valid_from_at
        and (
            coalesce(measured.published_at, measured.created_at) < operating_model_periods.valid_to_at
            or operating_model_periods.valid_to_at is null
        )
