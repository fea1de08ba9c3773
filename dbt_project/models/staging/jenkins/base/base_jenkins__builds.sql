{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_jenkins.builds` typed, one row per raw record (quarantined ones too: stg_jenkins__builds
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('jenkins', 'builds') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.number',
            '$.result',
            '$.building',
            '$.url',
            '$.timestamp',
            '$.duration'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        _context ->> '$.job' as job,
        cast(number as bigint) as build_number,
        upper(result) as result,
        cast(building as boolean) as is_building,
        url as build_url,
        {{ to_utc_timestamp('timestamp') }} as started_at,
        try_cast(duration as bigint) as duration_ms,
        payload
    from extracted

)

select * from renamed
