-- Jira issues recognised as improvement actions, each with the catalog service whose Jira mapping names its project
-- and the keys of the issues it links to (an action names its review through an issue link). Conforms to `actions`.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_jira__actions')) }}

),

services as (

    {{ mapped_services('jira', ['project']) }}

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
