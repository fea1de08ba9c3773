-- Each change with the deployment that shipped it and its lead times.
-- A change ships in the FIRST successful production deployment of its service whose deployed commit contains it,
-- i.e. whose mainline position is at or after the change's (ancestry on the first-parent chain, not dates).
-- Rollbacks deploy older positions and ship nothing new; a deployed sha off the mainline ships nothing.
-- Each service's rows come from its own changes, deployments and mainline alone (every join and window is within the
-- service), so a daily run rebuilds only the services whose inputs changed (macros/incremental_by_service.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        meta={'service_inputs': ['int_changes', 'int_deployments', 'int_mainline_commits']},
        pre_hook="{{ delete_services_to_rebuild() }}",
        post_hook="{{ remember_service_inputs() }}",
    )
}}

with

{{ services_to_rebuild_cte() }}

changes as (

    select * from {{ for_services_to_rebuild(ref('int_changes')) }}

),

deployments as (

    select * from {{ for_services_to_rebuild(ref('int_deployments')) }}

),

mainline as (

    select * from {{ for_services_to_rebuild(ref('int_mainline_commits')) }}

),

production_deployments as (

    select
        deployments.deployment_id,
        deployments.service,
        deployments.deployed_at,
        deployments.operating_model,
        mainline.mainline_position
    from deployments
    inner join mainline
        on
            deployments.service = mainline.service
            and deployments.sha = mainline.sha
    where deployments.counts_as_deployment

),

-- in deployment order, the highest position deployed so far; a deployment ships exactly the positions it is the
-- first to reach: (highest before it, highest including it]
reach as (

    select
        *,
        max(mainline_position) over (
            partition by service order by deployed_at, deployment_id
            rows between unbounded preceding and current row
        ) as reached_position,
        coalesce(max(mainline_position) over (
            partition by service order by deployed_at, deployment_id
            rows between unbounded preceding and 1 preceding
        ), 0) as previously_reached_position
    from production_deployments

),

shipped as (

    select
        changes.*,
        reach.deployment_id,
        reach.deployed_at,
        reach.operating_model,
        {{ hours_between('changes.merged_at', 'reach.deployed_at') }} as measured_deployment_lead_time_hours,
        {{ hours_between('changes.first_commit_at', 'reach.deployed_at') }} as measured_lead_time_for_changes_hours
    from changes
    left join reach
        on changes.service = reach.service
        -- only deployments that raise the highest position ship anything
        and reach.reached_position > reach.previously_reached_position
        and changes.mainline_position > reach.previously_reached_position
        and changes.mainline_position <= reach.reached_position

)

select
    *,
    deployment_id is not null as is_shipped,
    -- non-positive durations (clock skew between git and the deployment system) are excluded, and flagged
    case when measured_deployment_lead_time_hours > 0 then measured_deployment_lead_time_hours end
        as deployment_lead_time_hours,
    case when measured_lead_time_for_changes_hours > 0 then measured_lead_time_for_changes_hours end
        as lead_time_for_changes_hours,
    coalesce(measured_deployment_lead_time_hours <= 0, false) as has_non_positive_deployment_lead_time,
    coalesce(measured_lead_time_for_changes_hours <= 0, false) as has_non_positive_lead_time_for_changes
from shipped
