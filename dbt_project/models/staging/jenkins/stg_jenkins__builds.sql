-- One row per build of a mapped Jenkins job, typed. Jenkins times are epoch milliseconds: a build started at
-- `timestamp` and ended at timestamp + duration; `result` is null while it is still building.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_jenkins__builds')) }}

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
    checkouts
from renamed
