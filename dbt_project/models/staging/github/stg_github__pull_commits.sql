with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'pull_commits') }}

),

renamed as (

    select
        _pk as pull_commit_key,
        coalesce(_context ->> '$.repo', split_part(_pk, ':', 1)) as repo,
        cast(coalesce(_context ->> '$.pull_number', split_part(_pk, ':', 2)) as integer) as pull_request_number,
        payload ->> '$.sha' as sha,
        payload ->> '$.commit.author.name' as author_name,
        payload ->> '$.commit.author.email' as author_email,
        {{ to_utc_timestamp("payload ->> '$.commit.author.date'") }} as authored_at,
        {{ to_utc_timestamp("payload ->> '$.commit.committer.date'") }} as committed_at,
        payload ->> '$.commit.message' as message,
        len(json_extract_string(payload, '$.parents[*].sha')) as n_parents
    from source

)

select * from renamed
