-- The commits of each pull request (its branch), once per service mapped to the repository. Conforms to
-- `change_commits`.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_github__pull_commits')) }}

),

services as (

    {{ mapped_services('github', ['repo']) }}

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
