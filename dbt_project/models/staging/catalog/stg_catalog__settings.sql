with

source as (

    select * from {{ source('catalog', 'settings') }}

),

renamed as (

    select
        key as setting,
        value
    from source

)

select * from renamed
