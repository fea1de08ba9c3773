{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_gitlab.deployments` typed, one row per raw record (quarantined ones too: stg_gitlab__deployments
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('gitlab', 'deployments') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.sha',
            '$.ref',
            '$.environment.name',
            '$.status',
            '$.deployable.id',
            '$.deployable.status',
            '$.created_at',
            '$.updated_at',
            '$.deployable.finished_at'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as deployment_id,
        _context ->> '$.project' as project,
        sha,
        ref as git_ref,
        coalesce(environment_name, _context ->> '$.environment') as environment,
        lower(status) as status,
        deployable_id as job_id,
        lower(deployable_status) as job_status,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('deployable_finished_at') }} as finished_at
    from extracted

)

select * from renamed
