-- The commits of each merge request (its branch), once per service mapped to the project. Conforms to
-- `change_commits`.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('gitlab', 'merge_request_commits') }}

),

services as (

    {{ mapped_services('gitlab', ['project']) }}

),

renamed as (

    select
        _pk as record_id,
        _context ->> '$.project' as project,
        cast(_context ->> '$.merge_request_iid' as integer) as merge_request_iid,
        payload ->> '$.id' as sha,
        payload ->> '$.author_name' as author_name,
        payload ->> '$.author_email' as author_email,
        {{ to_utc_timestamp("payload ->> '$.authored_date'") }} as authored_at,
        {{ to_utc_timestamp("payload ->> '$.committed_date'") }} as committed_at,
        payload ->> '$.message' as message
    from source

)

select
    'gitlab' as source,  -- noqa: RF04
    'raw_gitlab.merge_request_commits' as source_table,
    renamed.record_id,
    services.service,
    renamed.project as repo,
    renamed.merge_request_iid as change_number,
    renamed.sha,
    renamed.author_name,
    renamed.author_email,
    renamed.authored_at,
    renamed.committed_at,
    renamed.message
from renamed
inner join services
    on renamed.project = services.project
