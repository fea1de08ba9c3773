-- The statuses of GitHub deployments (queued, in_progress, success, failure, error, inactive). Conforms to
-- `deployment_statuses`.
with

renamed as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_records(ref('base_github__deployment_statuses')) }}

)

select * from renamed
