-- GitLab merge requests merged into the mapped branch of each mapped project, once per service mapped to it.
-- Conforms to `changes`: a merge request sits on the mainline at its merge commit, its squash commit when squashed
-- without one, or its head commit when fast-forwarded (merge_commit_sha null, the very commits on the branch).
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_gitlab__merge_requests')) }}

),

services as (

    {{ mapped_services('gitlab', ['project', 'branch']) }}

)

select
    'gitlab' as source,  -- noqa: RF04
    'raw_gitlab.merge_requests' as source_table,
    renamed.record_id,
    renamed.project || '!' || cast(renamed.merge_request_iid as varchar) as change_id,
    services.service,
    renamed.project as repo,
    renamed.merge_request_iid as change_number,
    renamed.merge_request_id,
    renamed.title,
    renamed.state,
    renamed.author_username,
    renamed.target_branch,
    renamed.source_branch,
    renamed.head_sha,
    renamed.merge_commit_sha,
    renamed.squash_commit_sha,
    renamed.target_branch = services.branch as targets_mainline,
    coalesce(renamed.merge_commit_sha, renamed.squash_commit_sha, renamed.head_sha) as mainline_sha,
    renamed.created_at,
    renamed.merged_at,
    renamed.updated_at
from renamed
inner join services
    on renamed.project = services.project
