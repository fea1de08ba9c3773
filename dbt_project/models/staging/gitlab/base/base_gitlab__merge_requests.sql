{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_gitlab.merge_requests` typed, one row per raw record (quarantined ones too: stg_gitlab__merge_requests
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('gitlab', 'merge_requests') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.iid',
            '$.title',
            '$.state',
            '$.author.username',
            '$.target_branch',
            '$.source_branch',
            '$.sha',
            '$.merge_commit_sha',
            '$.squash_commit_sha',
            '$.created_at',
            '$.merged_at',
            '$.updated_at'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as merge_request_id,
        _context ->> '$.project' as project,
        cast(iid as integer) as merge_request_iid,
        title,
        state,
        author_username,
        target_branch,
        source_branch,
        sha as head_sha,
        merge_commit_sha,
        squash_commit_sha,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('merged_at') }} as merged_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from extracted

)

select * from renamed
