-- Every deployment of a catalog service, from the one source that records its deployments (the catalog's
-- deployment_source: a repository that deploys from CI may also record GitHub Deployments, counted once), as known
-- at the as-of instant, with its outcome. A deployment counts (is one of the service's deployments) only when it
-- reached the service's production environment with a success status; deployed_at is the time of its FIRST success
-- status (for GitHub the status's created_at, never the deployment's updated_at). Failed and non-production
-- deployments are kept with their status.
with

deployments as (

    select * from {{ ref('int_deployments_unioned') }}

),

statuses as (

    select * from {{ ref('int_deployment_statuses_unioned') }}

),

services as (

    select * from {{ ref('int_services') }}

),

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

-- statuses created after the as-of instant have not happened yet
known_statuses as (

    select statuses.*
    from statuses
    cross join run_parameters
    where statuses.created_at < run_parameters.as_of_at

),

latest_status as (

    select
        source,
        deployment_id,
        state as latest_state
    from known_statuses
    qualify row_number() over (
        partition by source, deployment_id
        order by created_at desc, try_cast(status_id as bigint) desc nulls last, status_id desc
    ) = 1

),

first_success as (

    select
        source,
        deployment_id,
        min(created_at) as first_success_at
    from known_statuses
    where state = 'success'
    group by source, deployment_id

),

service_deployments as (

    select
        deployments.deployment_id,
        deployments.source,
        deployments.service,
        deployments.repo,
        deployments.sha,
        deployments.git_ref,
        deployments.environment,
        deployments.is_production,
        deployments.created_at,
        first_success.first_success_at as deployed_at,
        case
            when first_success.first_success_at is not null then 'success'
            else coalesce(latest_status.latest_state, 'pending')
        end as status
    from deployments
    inner join services
        on
            deployments.service = services.service
            and deployments.source = services.deployment_source
    cross join run_parameters
    left join first_success
        on
            deployments.source = first_success.source
            and deployments.deployment_id = first_success.deployment_id
    left join latest_status
        on
            deployments.source = latest_status.source
            and deployments.deployment_id = latest_status.deployment_id
    where deployments.created_at < run_parameters.as_of_at

)

select
    service_deployments.*,
    service_deployments.is_production and service_deployments.status = 'success' as counts_as_deployment,
    -- the model in effect when it succeeded (when it was requested, if it never did)
    operating_model_periods.operating_model
from service_deployments
left join operating_model_periods
    on
        service_deployments.service = operating_model_periods.service
        and coalesce(service_deployments.deployed_at, service_deployments.created_at)
        >= operating_model_periods.valid_from_at
        and (
            coalesce(service_deployments.deployed_at, service_deployments.created_at)
            < operating_model_periods.valid_to_at
            or operating_model_periods.valid_to_at is null
        )
