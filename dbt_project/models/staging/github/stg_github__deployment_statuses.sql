-- The statuses of GitHub deployments (queued, in_progress, success, failure, error, inactive). Conforms to
-- `deployment_statuses`.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'deployment_statuses') }}

),

renamed as (

    select
        'github' as source,  -- noqa: RF04
        'raw_github.deployment_statuses' as source_table,
        _pk as record_id,
        payload ->> '$.id' as status_id,
        -- the status payload names its deployment only through deployment_url; the sync context has the id
        coalesce(
            _context ->> '$.deployment_id',
            regexp_extract(payload ->> '$.deployment_url', 'deployments/(\d+)/?$', 1)
        ) as deployment_id,
        coalesce(
            _context ->> '$.repo',
            regexp_extract(payload ->> '$.repository_url', 'repos/([^/]+/[^/]+)/?$', 1)
        ) as repo,
        lower(payload ->> '$.state') as state,
        payload ->> '$.environment' as environment,
        payload ->> '$.description' as description,
        {{ to_utc_timestamp("payload ->> '$.created_at'") }} as created_at,
        {{ to_utc_timestamp("payload ->> '$.updated_at'") }} as updated_at
    from source

)

select * from renamed
