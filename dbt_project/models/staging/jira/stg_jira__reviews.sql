-- Jira issues recognised as post-incident reviews, each with the catalog service whose Jira mapping names its
-- project, and the incident it names in the configured field (the jira source's `incident_link.field` setting: a
-- text or URL field holds a string, a select-list or URL object field an object). Conforms to `reviews`.
with

reviews as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_jira__reviews')) }}

),

renamed as (

    select
        * exclude (payload),
        json_extract(
            payload,
            '$.fields."' || {{ source_setting('jira', 'incident_link.field', "'customfield_10042'") }} || '"'
        ) as link_value
    from reviews

),

services as (

    {{ mapped_services('jira', ['project']) }}

)

select
    'jira' as source,  -- noqa: RF04
    'raw_jira.reviews' as source_table,
    renamed.record_id,
    renamed.review_id,
    renamed.review_key,
    services.service,
    case
        when json_type(renamed.link_value) = 'VARCHAR' then renamed.link_value ->> '$'
        else coalesce(
            renamed.link_value ->> '$.url', renamed.link_value ->> '$.value', renamed.link_value ->> '$.id'
        )
    end as incident_reference,
    renamed.workflow_status,
    renamed.issue_summary as summary,  -- noqa: RF04
    renamed.project_key,
    renamed.issue_type,
    renamed.labels,
    renamed.created_at,
    renamed.published_at
from renamed
left join services
    on renamed.project_key = services.project
