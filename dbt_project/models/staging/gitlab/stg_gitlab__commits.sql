-- Commits reachable from each mapped project's branch, with their parents, once per service mapped to the project.
-- Conforms to `mainline_commits`. Commit times keep the committer's offset in the payload; here they are UTC.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_gitlab__commits')) }}

),

services as (

    {{ mapped_services('gitlab', ['project']) }}

)

select
    'gitlab' as source,  -- noqa: RF04
    'raw_gitlab.commits' as source_table,
    renamed.record_id,
    services.service,
    renamed.project as repo,
    renamed.branch,
    renamed.sha,
    renamed.parent_shas,
    renamed.author_name,
    renamed.author_email,
    renamed.authored_at,
    renamed.committed_at,
    renamed.message
from renamed
inner join services
    on renamed.project = services.project
