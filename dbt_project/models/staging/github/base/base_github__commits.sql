{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_github.commits` typed, one row per raw record (quarantined ones too: stg_github__commits
-- leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('github', 'commits') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.sha',
            '$.commit.author.name',
            '$.commit.author.email',
            '$.commit.author.date',
            '$.commit.committer.date',
            '$.commit.message'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        coalesce(_context ->> '$.repo', split_part(_pk, ':', 1)) as repo,
        _context ->> '$.branch' as branch,
        sha,
        commit_author_name as author_name,
        commit_author_email as author_email,
        {{ to_utc_timestamp('commit_author_date') }} as authored_at,
        {{ to_utc_timestamp('commit_committer_date') }} as committed_at,
        commit_message as message,
        -- parents in git order: the first parent is the mainline side of a merge
        json_extract_string(payload, '$.parents[*].sha') as parent_shas
    from extracted

)

select * from renamed
