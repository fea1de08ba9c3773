{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_github_actions.jobs` typed, one row per raw record (quarantined ones too: stg_github_actions__jobs
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('github_actions', 'jobs') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.run_id',
            '$.run_attempt',
            '$.name',
            '$.status',
            '$.conclusion',
            '$.started_at',
            '$.completed_at'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as job_id,
        coalesce(_context ->> '$.run_id', run_id) as run_id,
        cast(coalesce(_context ->> '$.run_attempt', run_attempt) as integer) as run_attempt,
        _context ->> '$.repo' as repo,
        _context ->> '$.workflow' as workflow,
        name as job_name,
        lower(status) as status,
        lower(conclusion) as conclusion,
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('completed_at') }} as completed_at
    from extracted

)

select * from renamed
