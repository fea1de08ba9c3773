{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_github.pull_requests` typed, one row per raw record (quarantined ones too: stg_github__pull_requests
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('github', 'pull_requests') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.base.repo.full_name',
            '$.url',
            '$.number',
            '$.state',
            '$.title',
            '$.user.login',
            '$.base.ref',
            '$.head.ref',
            '$.head.sha',
            '$.merge_commit_sha',
            '$.created_at',
            '$.closed_at',
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
        id as pull_request_id,
        coalesce(
            _context ->> '$.repo',
            base_repo_full_name,
            regexp_extract(url, 'repos/([^/]+/[^/]+)/pulls/', 1)
        ) as repo,
        cast(number as integer) as pull_request_number,
        state,
        title,
        user_login as author_login,
        base_ref,
        head_ref,
        head_sha,
        -- squash: the squash commit; rebase: the last rebased commit; merge: the merge commit
        merge_commit_sha,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('closed_at') }} as closed_at,
        {{ to_utc_timestamp('merged_at') }} as merged_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from extracted

)

select * from renamed
