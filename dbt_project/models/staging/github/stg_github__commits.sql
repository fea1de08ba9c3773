-- Commits reachable from each mapped repository's mainline branch, with their parents, once per service mapped to
-- the repository. Conforms to `mainline_commits`.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'commits') }}

),

services as (

    {{ mapped_services('github', ['repo']) }}

),

renamed as (

    select
        _pk as record_id,
        coalesce(_context ->> '$.repo', split_part(_pk, ':', 1)) as repo,
        _context ->> '$.branch' as branch,
        payload ->> '$.sha' as sha,
        payload ->> '$.commit.author.name' as author_name,
        payload ->> '$.commit.author.email' as author_email,
        {{ to_utc_timestamp("payload ->> '$.commit.author.date'") }} as authored_at,
        {{ to_utc_timestamp("payload ->> '$.commit.committer.date'") }} as committed_at,
        payload ->> '$.commit.message' as message,
        -- parents in git order: the first parent is the mainline side of a merge
        json_extract_string(payload, '$.parents[*].sha') as parent_shas
    from source

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
