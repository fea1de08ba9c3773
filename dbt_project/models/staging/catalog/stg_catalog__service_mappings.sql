with

source as (

    select * from {{ source('catalog', 'service_mappings') }}

),

renamed as (

    select
        service,
        source as source_name,
        key as mapping_key,
        value as mapping_value
    from source

)

select * from renamed
