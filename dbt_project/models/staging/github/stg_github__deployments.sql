-- GitHub deployments, each with the catalog service whose repository it is in (null: an unknown repository, which
-- quarantine lists); production when it went to that service's mapped environment. Conforms to `deployments`.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'deployments') }}

),

services as (

    {{ mapped_services('github', ['repo', 'environment']) }}

),

renamed as (

    select
        _pk as record_id,
        payload ->> '$.id' as deployment_id,
        -- the repo comes from the sync context; the payload's repository_url is the fallback
        coalesce(
            _context ->> '$.repo',
            regexp_extract(payload ->> '$.repository_url', 'repos/([^/]+/[^/]+)/?$', 1)
        ) as repo,
        payload ->> '$.sha' as sha,
        payload ->> '$.ref' as git_ref,
        payload ->> '$.task' as deployment_task,
        payload ->> '$.environment' as environment,
        payload ->> '$.original_environment' as original_environment,
        cast(payload ->> '$.production_environment' as boolean) as is_production_environment,
        payload ->> '$.creator.login' as creator_login,
        {{ to_utc_timestamp("payload ->> '$.created_at'") }} as created_at,
        {{ to_utc_timestamp("payload ->> '$.updated_at'") }} as updated_at,
        _loaded_at as loaded_at
    from source

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
