-- Commits reachable from each mapped repository's mainline branch, with their parents, once per service mapped to
-- the repository. Conforms to `mainline_commits`.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_github__commits')) }}

),

services as (

    {{ mapped_services('github', ['repo']) }}

)

select
    'github' as source,  -- noqa: RF04
    'raw_github.commits' as source_table,
    renamed.record_id,
    services.service,
    renamed.repo,
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
    on renamed.repo = services.repo
