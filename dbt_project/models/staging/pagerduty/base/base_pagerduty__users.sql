{{ config(materialized='incremental', unique_key='record_id') }}
-- `raw_pagerduty.users` typed, one row per raw record (quarantined ones too: stg_pagerduty__users leaves them out).
-- Incremental: a run types only the records loaded since the last (macros/incremental_raw.sql).
with

source as (

    {{ raw_records_to_type('pagerduty', 'users') }}

),

extracted as (

    select
        *,
        unnest({{ json_fields('payload', [
            '$.id',
            '$.name',
            '$.email',
            '$.time_zone',
            '$.teams'
        ]) }})
    from source

),

renamed as (

    select
        _pk as record_id,
        _sync_id,
        _loaded_at,
        id as user_id,
        name as user_name,
        email,
        time_zone,
        -- the user's teams ([team] with include[]=teams, [team_reference] without): only ids are read
        cast(teams as json) as teams
    from extracted

)

select * from renamed
