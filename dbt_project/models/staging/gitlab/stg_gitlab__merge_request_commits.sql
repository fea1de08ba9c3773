-- The commits of each merge request (its branch), once per service mapped to the project. Conforms to
-- `change_commits`.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_gitlab__merge_request_commits')) }}

),

services as (

    {{ mapped_services('gitlab', ['project']) }}

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
