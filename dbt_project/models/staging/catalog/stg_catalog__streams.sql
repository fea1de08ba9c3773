with

source as (

    select * from {{ source('catalog', 'streams') }}

),

renamed as (

    select
        source as source_name,
        stream,
        raw_table,
        primary_key,
        cursor_field,
        timestamp_fields,
        required_fields
    from source

)

select * from renamed
