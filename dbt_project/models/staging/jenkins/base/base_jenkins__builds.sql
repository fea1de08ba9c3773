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
        -- the git checkouts (BuildData actions) in the build's order, read out of the JSON once here instead of on
        -- each of the several reads a run makes of stg_jenkins__deployments
        list_transform(
            list_filter(
                json_extract(payload, '$.actions[*]'),
                lambda action: action ->> '$._class' = 'hudson.plugins.git.util.BuildData'
            ),
            lambda action: {
                'sha': action ->> '$.lastBuiltRevision.SHA1',
                'git_ref': action ->> '$.lastBuiltRevision.branch[0].name',
                'remote_urls': json_extract_string(action, '$.remoteUrls[*]')
            }
        ) as checkouts
    from extracted

)

select * from renamed
