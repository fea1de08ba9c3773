-- The commits of each pull request (its branch), once per service mapped to the repository. Conforms to
-- `change_commits`.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'pull_commits') }}

),

services as (

    {{ mapped_services('github', ['repo']) }}

),

renamed as (

    select
        _pk as record_id,
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

select
    'github' as source,  -- noqa: RF04
    'raw_github.pull_commits' as source_table,
    renamed.record_id,
    services.service,
    renamed.repo,
    renamed.pull_request_number as change_number,
    renamed.sha,
    renamed.author_name,
    renamed.author_email,
    renamed.authored_at,
    renamed.committed_at,
    renamed.message,
    renamed.n_parents
from renamed
inner join services
    on renamed.repo = services.repo
