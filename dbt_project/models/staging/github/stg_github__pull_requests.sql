-- Closed GitHub pull requests of each mapped repository, once per service mapped to it. Conforms to `changes`:
-- the mainline commit of a merged pull request is its merge_commit_sha (merge, squash or last rebased commit).
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_github__pull_requests')) }}

),

services as (

    {{ mapped_services('github', ['repo', 'branch']) }}

)

select
    'github' as source,  -- noqa: RF04
    'raw_github.pull_requests' as source_table,
    renamed.record_id,
    renamed.repo || '#' || cast(renamed.pull_request_number as varchar) as change_id,
    services.service,
    renamed.repo,
    renamed.pull_request_number as change_number,
    renamed.pull_request_id,
    renamed.state,
    renamed.title,
    renamed.author_login,
    renamed.base_ref,
    renamed.head_ref,
    renamed.head_sha,
    coalesce(renamed.base_ref, services.branch) = services.branch as targets_mainline,
    renamed.merge_commit_sha as mainline_sha,
    renamed.created_at,
    renamed.closed_at,
    renamed.merged_at,
    renamed.updated_at,
    renamed.merged_at is not null as is_merged
from renamed
inner join services
    on renamed.repo = services.repo
