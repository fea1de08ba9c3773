-- Post-incident reviews with their incident and time to generate insights (published_at - incident resolved_at).
-- Which Jira field names the incident is a setting (raw_catalog.settings jira_incident_link_field); it holds the
-- incident's URL or id, whose last path segment is the PagerDuty incident id.
with

reviews as (

    select * from {{ ref('stg_jira__reviews') }}

),

settings as (

    select * from {{ ref('stg_catalog__settings') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

services as (

    select * from {{ ref('int_services') }}

),

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

link_field as (

    select
        coalesce(
            max(value) filter (where setting = 'jira_incident_link_field'),
            'customfield_10042'
        ) as field_name
    from settings

),

linked_reviews as (

    select
        reviews.*,
        json_extract(reviews.fields_json, '$."' || link_field.field_name || '"') as link_value
    from reviews
    cross join link_field
    cross join run_parameters
    where reviews.created_at < run_parameters.as_of_at

),

referenced as (

    select
        *,
        -- a URL/text field holds a string; select-list and URL fields may hold an object
        case
            when json_type(link_value) = 'VARCHAR' then link_value ->> '$'
            else coalesce(link_value ->> '$.url', link_value ->> '$.value', link_value ->> '$.id')
        end as incident_reference
    from linked_reviews

),

resolved as (

    select
        referenced.review_id,
        referenced.review_key,
        referenced.project_key,
        referenced.workflow_status,
        referenced.issue_summary,
        referenced.incident_reference,
        incidents.incident_id,
        coalesce(incidents.service, project_services.service) as service,
        incidents.resolved_at as incident_resolved_at,
        referenced.created_at,
        case when referenced.published_at < run_parameters.as_of_at then referenced.published_at end as published_at
    from referenced
    cross join run_parameters
    left join incidents
        on regexp_extract(referenced.incident_reference, '([A-Za-z0-9-]+)/*(?:[?#].*)?$', 1) = incidents.incident_id
    left join services as project_services
        on referenced.project_key = project_services.jira_project

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
    measured.review_key,
    measured.service,
    measured.incident_id,
    measured.incident_reference,
    measured.project_key,
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
