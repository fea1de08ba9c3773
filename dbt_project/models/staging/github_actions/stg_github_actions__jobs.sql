-- The jobs of each attempt of a mapped run, typed (read only for mappings that name the deploy job).
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_github_actions__jobs')) }}

)

select * from renamed
