-- One row per deployment (all environments and outcomes); counts_as_deployment marks the successful production
-- ones, which are the service's deployments.
with

deployments as (

    select * from {{ ref('int_deployments') }}

),

change_shipments as (

    select * from {{ ref('int_change_shipments') }}

),

attributions as (

    select * from {{ ref('int_incident_attributions') }}

),

shipped_changes as (

    select
        service,
        deployment_id,
        count(*) as n_changes,
        quantile_cont(deployment_lead_time_hours, 0.5) as median_deployment_lead_time_hours,
        quantile_cont(lead_time_for_changes_hours, 0.5) as median_lead_time_for_changes_hours,
        count(*) filter (where has_non_positive_deployment_lead_time) as n_non_positive_lead_times
    from change_shipments
    where is_shipped
    group by service, deployment_id

),

caused_incidents as (

    select
        service,
        deployment_id,
        -- the first incident attributed to the deployment names it; n_attributed_incidents counts them all
        arg_min(incident_id, triggered_at) as caused_incident_id,
        count(*) as n_attributed_incidents
    from attributions
    group by service, deployment_id

)

select
    deployments.deployment_id,
    deployments.source,
    deployments.service,
    deployments.repo,
    deployments.sha,
    deployments.git_ref,
    deployments.environment,
    deployments.is_production,
    deployments.status,
    deployments.counts_as_deployment,
    deployments.created_at,
    deployments.deployed_at,
    deployments.operating_model,
    cast(coalesce(shipped_changes.n_changes, 0) as integer) as n_changes,
    shipped_changes.median_deployment_lead_time_hours,
    shipped_changes.median_lead_time_for_changes_hours,
    cast(coalesce(shipped_changes.n_non_positive_lead_times, 0) as integer) as n_non_positive_lead_times,
    caused_incidents.caused_incident_id,
    cast(coalesce(caused_incidents.n_attributed_incidents, 0) as integer) as n_attributed_incidents,
    caused_incidents.caused_incident_id is not null as is_change_failure
from deployments
left join shipped_changes
    on
        deployments.service = shipped_changes.service
        and deployments.deployment_id = shipped_changes.deployment_id
left join caused_incidents
    on
        deployments.service = caused_incidents.service
        and deployments.deployment_id = caused_incidents.deployment_id
