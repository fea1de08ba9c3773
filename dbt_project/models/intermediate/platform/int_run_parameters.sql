-- One row holding everything a run is computed as of. Models read these columns instead of calling
-- env_var/var themselves, so unit tests pin the as-of instant and the time zone with one mocked row.
-- timezone, window_days and migration_window_days come from the config file (raw_catalog.settings) when it sets
-- them; the dbt vars are the defaults.
{{ config(materialized='view') }}

with

settings as (

    select * from {{ ref('stg_catalog__settings') }}

),

configured as (

    select
        max(value) filter (where setting = 'timezone') as timezone,
        max(value) filter (where setting = 'window_days') as window_days,
        max(value) filter (where setting = 'migration_window_days') as migration_window_days,
        max(value) filter (where setting = 'currency') as currency
    from settings

),

parameters as (

    select
        {{ as_of_date() }} as as_of_date,
        coalesce(nullif(trim(configured.timezone), ''), '{{ var("timezone") }}') as timezone,
        cast(coalesce(nullif(trim(configured.window_days), ''), '{{ var("window_days") }}') as integer) as window_days,
        cast(
            coalesce(nullif(trim(configured.migration_window_days), ''), '{{ var("migration_window_days") }}')
            as integer
        ) as migration_window_days,
        cast({{ var('working_hours_start') }} as integer) as working_hours_start,
        cast({{ var('working_hours_end') }} as integer) as working_hours_end,
        cast({{ var('learning_follow_up_days') }} as integer) as learning_follow_up_days,
        -- the catalog's currency names the costs' unit; without one they are plain money
        coalesce(nullif(trim(configured.currency), ''), 'money') as currency
    from configured

)

select
    as_of_date,
    -- the start of the as-of day in UTC: data at or after this instant is ignored
    timezone('UTC', cast(as_of_date as timestamp)) as as_of_at,
    timezone,
    window_days,
    timezone('UTC', cast(as_of_date - window_days as timestamp)) as window_start_at,
    timezone('UTC', cast(as_of_date as timestamp)) as window_end_at,
    migration_window_days,
    working_hours_start,
    working_hours_end,
    learning_follow_up_days,
    currency
from parameters
