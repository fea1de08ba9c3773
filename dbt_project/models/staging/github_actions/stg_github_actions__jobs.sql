-- The jobs of each attempt of a mapped run, typed (read only for mappings that name the deploy job).
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('github_actions', 'jobs') }}

),

renamed as (

    select
        _pk as record_id,
        payload ->> '$.id' as job_id,
        coalesce(_context ->> '$.run_id', payload ->> '$.run_id') as run_id,
        cast(coalesce(_context ->> '$.run_attempt', payload ->> '$.run_attempt') as integer) as run_attempt,
        _context ->> '$.repo' as repo,
        _context ->> '$.workflow' as workflow,
        payload ->> '$.name' as job_name,
        lower(payload ->> '$.status') as status,
        lower(payload ->> '$.conclusion') as conclusion,
        {{ to_utc_timestamp("payload ->> '$.started_at'") }} as started_at,
        {{ to_utc_timestamp("payload ->> '$.completed_at'") }} as completed_at
    from source

)

select * from renamed
