with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'deployments') }}

),

renamed as (

    select
        cast(payload ->> '$.id' as bigint) as deployment_id,
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

select * from renamed
