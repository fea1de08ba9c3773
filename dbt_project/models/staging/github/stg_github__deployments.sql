-- GitHub deployments, each with the catalog service whose repository it is in (null: an unknown repository, which
-- quarantine lists); production when it went to that service's mapped environment. Conforms to `deployments`.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_github__deployments')) }}

),

services as (

    {{ mapped_services('github', ['repo', 'environment']) }}

)

select
    'github' as source,  -- noqa: RF04
    'raw_github.deployments' as source_table,
    renamed.record_id,
    renamed.deployment_id,
    services.service,
    renamed.repo as service_key,
    renamed.repo,
    renamed.sha,
    renamed.git_ref,
    renamed.deployment_task,
    renamed.environment,
    renamed.original_environment,
    renamed.is_production_environment,
    coalesce(renamed.environment = services.environment, false) as is_production,
    renamed.creator_login,
    renamed.created_at,
    renamed.updated_at,
    renamed.loaded_at
from renamed
left join services
    on renamed.repo = services.repo
