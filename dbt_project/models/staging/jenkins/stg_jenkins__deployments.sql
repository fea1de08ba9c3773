-- Each build of a service's mapped deploy job is a production deployment attempt. Its commit is the SHA1 of the git
-- checkout (a BuildData action) whose remote URL names the service's repository, as the service's code host mapping
-- has it; a pipeline that also checks out a shared library has several BuildData actions, and without a match the
-- first one is taken. Conforms to `deployments`; the result of each build feeds `deployment_statuses`.
with

builds as (

    select * from {{ ref('stg_jenkins__builds') }}

),

service_mappings as (

    select * from {{ ref('stg_catalog__service_mappings') }}

),

-- a service's jobs: the list-valued mapping key `jobs` has one row per job
service_jobs as (

    select
        service,
        mapping_value as job
    from service_mappings
    where source_name = 'jenkins' and mapping_key = 'jobs'

),

-- where each service's code lives (owner/name), whatever code host maps it
service_code as (

    select distinct
        service,
        mapping_value as code_path
    from service_mappings
    where mapping_key in ('repo', 'project')

),

build_checkouts as (

    select
        builds.record_id,
        generate_subscripts(builds.checkouts, 1) as checkout_position,
        unnest(builds.checkouts) as checkout
    from builds

),

checkouts as (

    select
        build_checkouts.record_id,
        build_checkouts.checkout_position,
        build_checkouts.checkout.sha,
        build_checkouts.checkout.git_ref,
        -- a checkout without remote URLs (an empty list) stays, as one that matches no repository
        unnest(
            if(len(build_checkouts.checkout.remote_urls) > 0, build_checkouts.checkout.remote_urls, [null])
        ) as remote_url
    from build_checkouts

),

service_builds as (

    select
        builds.*,
        service_jobs.service
    from builds
    left join service_jobs
        on builds.job = service_jobs.job

),

-- per build and service: the checkout of the service's repository, else the first checkout
chosen_checkouts as (

    select
        service_builds.record_id,
        service_builds.service,
        checkouts.sha,
        checkouts.git_ref,
        service_code.code_path
    from service_builds
    inner join checkouts
        on service_builds.record_id = checkouts.record_id
    left join service_code
        on
            service_builds.service = service_code.service
            and (
                regexp_replace(checkouts.remote_url, '\.git/?$', '') like '%/' || service_code.code_path
                or regexp_replace(checkouts.remote_url, '\.git/?$', '') like '%:' || service_code.code_path
            )
    qualify row_number() over (
        partition by service_builds.record_id, service_builds.service
        order by service_code.code_path is null, checkouts.checkout_position
    ) = 1

)

select
    'jenkins' as source,  -- noqa: RF04
    'raw_jenkins.builds' as source_table,
    service_builds.record_id,
    service_builds.job || '#' || cast(service_builds.build_number as varchar) as deployment_id,
    service_builds.service,
    service_builds.job as service_key,
    chosen_checkouts.code_path as repo,
    chosen_checkouts.sha,
    chosen_checkouts.git_ref,
    service_builds.job as environment,
    service_builds.service is not null as is_production,
    service_builds.started_at as created_at,
    service_builds.build_number,
    case
        when service_builds.is_building then 'in_progress'
        when service_builds.result = 'SUCCESS' then 'success'
        when service_builds.result in ('FAILURE', 'UNSTABLE') then 'failure'
        else 'error'  -- ABORTED, NOT_BUILT
    end as state,
    coalesce(service_builds.finished_at, service_builds.started_at) as state_at
from service_builds
left join chosen_checkouts
    on
        service_builds.record_id = chosen_checkouts.record_id
        and service_builds.service is not distinct from chosen_checkouts.service
