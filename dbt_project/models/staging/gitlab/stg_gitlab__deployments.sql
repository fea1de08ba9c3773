-- GitLab deployments of each mapped project, with the service mapped to it (null: an unknown project) and whether
-- they went to the service's production environment. Conforms to `deployments`.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_gitlab__deployments')) }}

),

services as (

    {{ mapped_services('gitlab', ['project', 'environment']) }}

)

select
    'gitlab' as source,  -- noqa: RF04
    'raw_gitlab.deployments' as source_table,
    renamed.record_id,
    renamed.deployment_id,
    services.service,
    renamed.project as service_key,
    renamed.project as repo,
    renamed.sha,
    renamed.git_ref,
    renamed.environment,
    coalesce(renamed.environment = services.environment, false) as is_production,
    renamed.status,
    renamed.job_id,
    renamed.job_status,
    renamed.created_at,
    renamed.updated_at,
    renamed.finished_at
from renamed
left join services
    on renamed.project = services.project
