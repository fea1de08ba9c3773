-- One row per build of a mapped Jenkins job, typed. Jenkins times are epoch milliseconds: a build started at
-- `timestamp` and ended at timestamp + duration; `result` is null while it is still building.
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('jenkins', 'builds') }}

),

renamed as (

    select
        _pk as record_id,
        _context ->> '$.job' as job,
        cast(payload ->> '$.number' as bigint) as build_number,
        upper(payload ->> '$.result') as result,
        cast(payload ->> '$.building' as boolean) as is_building,
        payload ->> '$.url' as build_url,
        {{ to_utc_timestamp("payload ->> '$.timestamp'") }} as started_at,
        try_cast(payload ->> '$.duration' as bigint) as duration_ms,
        payload
    from source

)

select
    record_id,
    job,
    build_number,
    result,
    is_building,
    build_url,
    started_at,
    duration_ms,
    case when not is_building then started_at + to_milliseconds(duration_ms) end as finished_at,
    payload
from renamed
