with

source as (

    select * from {{ source('catalog', 'operating_models') }}

),

renamed as (

    select
        service,
        operating_model,
        cast(valid_from as date) as valid_from
    from source

)

select * from renamed
