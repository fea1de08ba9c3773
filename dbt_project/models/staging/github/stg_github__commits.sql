with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'commits') }}

),

renamed as (

    select
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
    *,
    parent_shas[1] as first_parent_sha,
    len(parent_shas) as n_parents
from renamed
