{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_github_actions.workflow_runs` typed, one row per raw record (quarantined ones
-- too: stg_github_actions__workflow_runs leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('github_actions', 'workflow_runs') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.run_attempt',
            '$.name',
            '$.head_branch',
            '$.head_sha',
            '$.event',
            '$.status',
            '$.conclusion',
            '$.created_at',
            '$.run_started_at',
            '$.updated_at'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as run_id,
        cast(run_attempt as integer) as run_attempt,
        _context ->> '$.repo' as repo,
        _context ->> '$.workflow' as workflow,
        name as workflow_name,
        head_branch,
        head_sha,
        event as trigger_event,
        lower(status) as status,
        lower(conclusion) as conclusion,
        {{ to_utc_timestamp('created_at') }} as created_at,
        -- resets on every re-run: when this attempt started
        {{ to_utc_timestamp('run_started_at') }} as run_started_at,
        -- a completed attempt's last update is when it completed (peers take it as the run's end)
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from extracted

)

select * from renamed
