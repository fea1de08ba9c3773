with

source as (

    select * from {{ source('catalog', 'teams') }}

),

renamed as (

    select
        team,
        kind,
        time_zone,
        -- ISO day numbers, so a page's isodow() is compared without naming days
        list_transform(
            working_days,
            lambda day_name: list_position(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], day_name)
        ) as working_isodows,
        cast(working_start as time) as working_start,
        cast(working_end as time) as working_end,
        cast(hourly_cost as double) as hourly_cost,
        cast(on_call_allowance_per_week as double) as on_call_allowance_per_week
    from source

)

select * from renamed
