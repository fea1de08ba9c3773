-- Change failures: an impacting incident triggered within the service's attribution window after one of its
-- successful production deployments, and before the next one, is attributed to that deployment.
-- Only the latest deployment at or before the trigger can qualify; if it is outside the window, nothing is.
with

incidents as (

    select * from {{ ref('int_incidents') }}

),

deployments as (

    select * from {{ ref('int_deployments') }}

),

services as (

    select * from {{ ref('int_services') }}

),

impacting_incidents as (

    select
        incident_id,
        service,
        triggered_at
    from incidents
    where is_impacting

),

production_deployments as (

    select
        deployment_id,
        service,
        deployed_at
    from deployments
    where counts_as_deployment

),

latest_deployment_before as (

    select
        impacting_incidents.incident_id,
        impacting_incidents.service,
        impacting_incidents.triggered_at,
        production_deployments.deployment_id,
        production_deployments.deployed_at
    from impacting_incidents
    asof inner join production_deployments
        on
            impacting_incidents.service = production_deployments.service
            and impacting_incidents.triggered_at >= production_deployments.deployed_at

)

select
    latest_deployment_before.incident_id,
    latest_deployment_before.deployment_id,
    latest_deployment_before.service,
    latest_deployment_before.deployed_at,
    latest_deployment_before.triggered_at,
    {{ hours_between('latest_deployment_before.deployed_at', 'latest_deployment_before.triggered_at') }}
        as hours_after_deployment,
    services.attribution_window_hours
from latest_deployment_before
inner join services
    on latest_deployment_before.service = services.service
where
    {{ hours_between('latest_deployment_before.deployed_at', 'latest_deployment_before.triggered_at') }}
    < services.attribution_window_hours
