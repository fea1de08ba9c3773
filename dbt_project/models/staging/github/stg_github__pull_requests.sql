with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'pull_requests') }}

),

renamed as (

    select
        cast(payload ->> '$.id' as bigint) as pull_request_id,
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
    *,
    merged_at is not null as is_merged
from renamed
