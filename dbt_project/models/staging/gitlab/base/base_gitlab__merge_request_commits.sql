{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_gitlab.merge_request_commits` typed, one row per raw record (quarantined ones
-- too: stg_gitlab__merge_request_commits leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('gitlab', 'merge_request_commits') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.author_name',
            '$.author_email',
            '$.authored_date',
            '$.committed_date',
            '$.message'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        _context ->> '$.project' as project,
        cast(_context ->> '$.merge_request_iid' as integer) as merge_request_iid,
        id as sha,
        author_name,
        author_email,
        {{ to_utc_timestamp('authored_date') }} as authored_at,
        {{ to_utc_timestamp('committed_date') }} as committed_at,
        message
    from extracted

)

select * from renamed
