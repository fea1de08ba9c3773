-- One row per attempt of a run of a mapped deploy workflow, typed.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github_actions', 'workflow_runs') }}

),

renamed as (

    select
        _pk as record_id,
        payload ->> '$.id' as run_id,
        cast(payload ->> '$.run_attempt' as integer) as run_attempt,
        _context ->> '$.repo' as repo,
        _context ->> '$.workflow' as workflow,
        payload ->> '$.name' as workflow_name,
        payload ->> '$.head_branch' as head_branch,
        payload ->> '$.head_sha' as head_sha,
        payload ->> '$.event' as trigger_event,
        lower(payload ->> '$.status') as status,
        lower(payload ->> '$.conclusion') as conclusion,
        {{ to_utc_timestamp("payload ->> '$.created_at'") }} as created_at,
        -- resets on every re-run: when this attempt started
        {{ to_utc_timestamp("payload ->> '$.run_started_at'") }} as run_started_at,
        -- a completed attempt's last update is when it completed (peers take it as the run's end)
        {{ to_utc_timestamp("payload ->> '$.updated_at'") }} as updated_at
    from source

)

select * from renamed
