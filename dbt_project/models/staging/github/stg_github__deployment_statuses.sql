with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github', 'deployment_statuses') }}

),

renamed as (

    select
        cast(payload ->> '$.id' as bigint) as deployment_status_id,
        -- the status payload names its deployment only through deployment_url; the sync context has the id
        cast(coalesce(
            _context ->> '$.deployment_id',
            regexp_extract(payload ->> '$.deployment_url', 'deployments/(\d+)/?$', 1)
        ) as bigint) as deployment_id,
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
