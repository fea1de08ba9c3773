with

source as (

    select * from {{ source('catalog', 'team_pager_ids') }}

),

renamed as (

    select
        team,
        source as source_name,
        key as pager_key,
        value as pager_team
    from source

)

select * from renamed
