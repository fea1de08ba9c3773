-- GitLab deployments of each mapped project, with the service mapped to it (null: an unknown project) and whether
-- they went to the service's production environment. Conforms to `deployments`.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('gitlab', 'deployments') }}

),

services as (

    {{ mapped_services('gitlab', ['project', 'environment']) }}

),

renamed as (

    select
        _pk as record_id,
        payload ->> '$.id' as deployment_id,
        _context ->> '$.project' as project,
        payload ->> '$.sha' as sha,
        payload ->> '$.ref' as git_ref,
        coalesce(payload ->> '$.environment.name', _context ->> '$.environment') as environment,
        lower(payload ->> '$.status') as status,
        payload ->> '$.deployable.id' as job_id,
        lower(payload ->> '$.deployable.status') as job_status,
        {{ to_utc_timestamp("payload ->> '$.created_at'") }} as created_at,
        {{ to_utc_timestamp("payload ->> '$.updated_at'") }} as updated_at,
        {{ to_utc_timestamp("payload ->> '$.deployable.finished_at'") }} as finished_at
    from source

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
