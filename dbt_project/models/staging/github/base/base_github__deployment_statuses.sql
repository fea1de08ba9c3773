{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_github.deployment_statuses` typed, one row per raw record (quarantined ones too: stg_github__deployment_statuses
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('github', 'deployment_statuses') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.deployment_url',
            '$.repository_url',
            '$.state',
            '$.environment',
            '$.description',
            '$.created_at',
            '$.updated_at'
        ]) }})
    from source

),

renamed as (

    select
        'github' as source,  -- noqa: RF04
        'raw_github.deployment_statuses' as source_table,
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as status_id,
        -- the status payload names its deployment only through deployment_url; the sync context has the id
        coalesce(
            _context ->> '$.deployment_id',
            regexp_extract(deployment_url, 'deployments/(\d+)/?$', 1)
        ) as deployment_id,
        coalesce(
            _context ->> '$.repo',
            regexp_extract(repository_url, 'repos/([^/]+/[^/]+)/?$', 1)
        ) as repo,
        lower(state) as state,
        environment,
        description,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from extracted

)

select * from renamed
