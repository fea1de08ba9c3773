with

source as (

    select * from {{ source('catalog', 'source_settings') }}

),

renamed as (

    select
        source as source_name,
        key as setting,
        value
    from source

)

select * from renamed
