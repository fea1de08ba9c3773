-- Commits reachable from each mapped project's branch, with their parents, once per service mapped to the project.
-- Conforms to `mainline_commits`. Commit times keep the committer's offset in the payload; here they are UTC.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('gitlab', 'commits') }}

),

services as (

    {{ mapped_services('gitlab', ['project']) }}

),

renamed as (

    select
        _pk as record_id,
        _context ->> '$.project' as project,
        _context ->> '$.branch' as branch,
        payload ->> '$.id' as sha,
        -- parents in git order: the first parent is the mainline side of a merge
        json_extract_string(payload, '$.parent_ids[*]') as parent_shas,
        payload ->> '$.author_name' as author_name,
        payload ->> '$.author_email' as author_email,
        {{ to_utc_timestamp("payload ->> '$.authored_date'") }} as authored_at,
        {{ to_utc_timestamp("payload ->> '$.committed_date'") }} as committed_at,
        payload ->> '$.message' as message
    from source

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
