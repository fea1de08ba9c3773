with

source as (

    select * from {{ source('catalog', 'services') }}

),

renamed as (

    select
        service,
        team,
        cast(availability_target as double) as availability_target,
        cast(attribution_window_hours as double) as attribution_window_hours,
        deployment_source,
        operations_team,
        cast(cost_of_unavailability_per_hour as double) as cost_of_unavailability_per_hour,
        cast(cost_of_delay_per_week as double) as cost_of_delay_per_week
    from source

)

select * from renamed
