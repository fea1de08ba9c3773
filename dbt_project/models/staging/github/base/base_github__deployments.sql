{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_github.deployments` typed, one row per raw record (quarantined ones too: stg_github__deployments
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('github', 'deployments') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.repository_url',
            '$.sha',
            '$.ref',
            '$.task',
            '$.environment',
            '$.original_environment',
            '$.production_environment',
            '$.creator.login',
            '$.created_at',
            '$.updated_at'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as deployment_id,
        -- the repo comes from the sync context; the payload's repository_url is the fallback
        coalesce(
            _context ->> '$.repo',
            regexp_extract(repository_url, 'repos/([^/]+/[^/]+)/?$', 1)
        ) as repo,
        sha,
        ref as git_ref,
        task as deployment_task,
        environment,
        original_environment,
        cast(production_environment as boolean) as is_production_environment,
        creator_login,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _loaded_at as loaded_at
    from extracted

)

select * from renamed
