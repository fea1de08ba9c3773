-- Delivery per service and local week (weeks start Monday in the configured time zone).
-- A deployment belongs to the week of its deployed_at; a change to the week of the deployment that shipped it.
with

service_weeks as (

    select * from {{ ref('int_service_weeks') }}

),

deployments as (

    select * from {{ ref('int_deployments') }}

),

change_shipments as (

    select * from {{ ref('int_change_shipments') }}

),

attributions as (

    select * from {{ ref('int_incident_attributions') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

failed_deployments as (

    select distinct
        service,
        deployment_id
    from attributions

),

weekly_deployments as (

    select
        deployments.service,
        {{ local_week_start('deployments.deployed_at', 'run_parameters.timezone') }} as week_start,
        count(*) as deployments,
        count(distinct cast(timezone(run_parameters.timezone, deployments.deployed_at) as date)) as deployment_days,
        count(failed_deployments.deployment_id) as failed_deployments
    from deployments
    cross join run_parameters
    left join failed_deployments
        on
            deployments.service = failed_deployments.service
            and deployments.deployment_id = failed_deployments.deployment_id
    where deployments.counts_as_deployment
    group by all

),

weekly_failed_attempts as (

    select
        deployments.service,
        {{ local_week_start('deployments.created_at', 'run_parameters.timezone') }} as week_start,
        count(*) as failed_deployment_attempts
    from deployments
    cross join run_parameters
    where
        deployments.is_production
        and deployments.status in ('failure', 'error')
    group by all

),

weekly_changes as (

    select
        change_shipments.service,
        {{ local_week_start('change_shipments.deployed_at', 'run_parameters.timezone') }} as week_start,
        count(*) as n_changes,
        quantile_cont(change_shipments.deployment_lead_time_hours, 0.5) as median_deployment_lead_time_hours,
        quantile_cont(change_shipments.deployment_lead_time_hours, 0.85) as p85_deployment_lead_time_hours,
        count(change_shipments.deployment_lead_time_hours) as n_deployment_lead_times,
        quantile_cont(change_shipments.lead_time_for_changes_hours, 0.5) as median_lead_time_for_changes_hours,
        quantile_cont(change_shipments.lead_time_for_changes_hours, 0.85) as p85_lead_time_for_changes_hours,
        count(change_shipments.lead_time_for_changes_hours) as n_lead_times_for_changes,
        count(*) filter (
            where change_shipments.has_non_positive_deployment_lead_time
        ) as n_non_positive_deployment_lead_times,
        count(*) filter (
            where change_shipments.has_non_positive_lead_time_for_changes
        ) as n_non_positive_lead_times_for_changes
    from change_shipments
    cross join run_parameters
    where change_shipments.is_shipped
    group by all

)

select
    service_weeks.service,
    service_weeks.week_start,
    service_weeks.iso_week,
    service_weeks.operating_model,
    service_weeks.has_operating_model_change,
    cast(coalesce(weekly_deployments.deployments, 0) as integer) as deployments,
    cast(coalesce(weekly_deployments.deployment_days, 0) as integer) as deployment_days,
    cast(coalesce(weekly_failed_attempts.failed_deployment_attempts, 0) as integer) as failed_deployment_attempts,
    cast(coalesce(weekly_changes.n_changes, 0) as integer) as n_changes,
    weekly_changes.median_deployment_lead_time_hours,
    weekly_changes.p85_deployment_lead_time_hours,
    cast(coalesce(weekly_changes.n_deployment_lead_times, 0) as integer) as n_deployment_lead_times,
    weekly_changes.median_lead_time_for_changes_hours,
    weekly_changes.p85_lead_time_for_changes_hours,
    cast(coalesce(weekly_changes.n_lead_times_for_changes, 0) as integer) as n_lead_times_for_changes,
    cast(coalesce(weekly_changes.n_non_positive_deployment_lead_times, 0) as integer)
        as n_non_positive_deployment_lead_times,
    cast(coalesce(weekly_changes.n_non_positive_lead_times_for_changes, 0) as integer)
        as n_non_positive_lead_times_for_changes,
    cast(coalesce(weekly_deployments.failed_deployments, 0) as integer) as failed_deployments,
    -- percent of the week's deployments with an attributed incident; no deployments, no rate
    100.0 * weekly_deployments.failed_deployments / nullif(weekly_deployments.deployments, 0) as change_failure_rate
from service_weeks
left join weekly_deployments
    on
        service_weeks.service = weekly_deployments.service
        and service_weeks.week_start = weekly_deployments.week_start
left join weekly_failed_attempts
    on
        service_weeks.service = weekly_failed_attempts.service
        and service_weeks.week_start = weekly_failed_attempts.week_start
left join weekly_changes
    on
        service_weeks.service = weekly_changes.service
        and service_weeks.week_start = weekly_changes.week_start
