-- One row per change (merged pull request or direct push) with the deployment that shipped it and its lead times.
with

change_shipments as (

    select * from {{ ref('int_change_shipments') }}

)

select
    change_id,
    source,
    service,
    repo,
    change_type,
    pull_request_number,
    title,
    mainline_sha,
    merged_at,
    first_commit_at,
    cast(n_commits as integer) as n_commits,
    is_shipped,
    deployment_id,
    deployed_at,
    operating_model,
    deployment_lead_time_hours,
    lead_time_for_changes_hours,
    has_non_positive_deployment_lead_time,
    has_non_positive_lead_time_for_changes
from change_shipments
