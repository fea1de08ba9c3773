-- Jira issues recognised as improvement actions, each with the catalog service whose Jira mapping names its project
-- and the keys of the issues it links to (an action names its review through an issue link). Conforms to `actions`.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('jira', 'actions') }}

),

services as (

    {{ mapped_services('jira', ['project']) }}

),

renamed as (

    select
        _pk as record_id,
        payload ->> '$.id' as action_id,
        payload ->> '$.key' as action_key,
        payload ->> '$.fields.project.key' as project_key,
        payload ->> '$.fields.issuetype.name' as issue_type,
        payload ->> '$.fields.status.name' as workflow_status,
        payload ->> '$.fields.summary' as issue_summary,
        json_extract_string(payload, '$.fields.labels[*]') as labels,
        -- both directions: an inward link names the other issue as inwardIssue, an outward one as outwardIssue
        list_filter(
            list_transform(
                json_extract(payload, '$.fields.issuelinks[*]'),
                lambda link: coalesce(link ->> '$.outwardIssue.key', link ->> '$.inwardIssue.key')
            ),
            lambda linked_key: linked_key is not null
        ) as linked_keys,
        {{ to_utc_timestamp("payload ->> '$.fields.created'") }} as created_at,
        -- an action is completed when it is resolved; null while open
        {{ to_utc_timestamp("payload ->> '$.fields.resolutiondate'") }} as completed_at
    from source

)

select
    'jira' as source,  -- noqa: RF04
    'raw_jira.actions' as source_table,
    renamed.record_id,
    renamed.action_id,
    renamed.action_key,
    services.service,
    renamed.linked_keys,
    renamed.workflow_status,
    renamed.issue_summary as summary,  -- noqa: RF04
    renamed.project_key,
    renamed.issue_type,
    renamed.labels,
    renamed.created_at,
    renamed.completed_at
from renamed
left join services
    on renamed.project_key = services.project
