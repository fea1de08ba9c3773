-- One row per attempt of a run of a mapped deploy workflow, typed.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_github_actions__workflow_runs')) }}

)

select * from renamed
