-- Closed GitHub pull requests of each mapped repository, once per service mapped to it. Conforms to `changes`:
-- the mainline commit of a merged pull request is its merge_commit_sha (merge, squash or last rebased commit).
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'pull_requests') }}

),

services as (

    {{ mapped_services('github', ['repo', 'branch']) }}

),

renamed as (

    select
        _pk as record_id,
        payload ->> '$.id' as pull_request_id,
        coalesce(
            _context ->> '$.repo',
            payload ->> '$.base.repo.full_name',
            regexp_extract(payload ->> '$.url', 'repos/([^/]+/[^/]+)/pulls/', 1)
        ) as repo,
        cast(payload ->> '$.number' as integer) as pull_request_number,
        payload ->> '$.state' as state,
        payload ->> '$.title' as title,
        payload ->> '$.user.login' as author_login,
        payload ->> '$.base.ref' as base_ref,
        payload ->> '$.head.ref' as head_ref,
        payload ->> '$.head.sha' as head_sha,
        -- squash: the squash commit; rebase: the last rebased commit; merge: the merge commit
        payload ->> '$.merge_commit_sha' as merge_commit_sha,
        {{ to_utc_timestamp("payload ->> '$.created_at'") }} as created_at,
        {{ to_utc_timestamp("payload ->> '$.closed_at'") }} as closed_at,
        {{ to_utc_timestamp("payload ->> '$.merged_at'") }} as merged_at,
        {{ to_utc_timestamp("payload ->> '$.updated_at'") }} as updated_at
    from source

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
