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
        deployment_source
    from source

)

select * from renamed
