with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_pagerduty__users')) }}

)

select * from renamed
