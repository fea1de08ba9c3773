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

checkouts as (

    select
        builds.record_id,
        cast(checkout.key as integer) as action_position,
        checkout.value ->> '$.lastBuiltRevision.SHA1' as sha,
        checkout.value ->> '$.lastBuiltRevision.branch[0].name' as git_ref,
        unnest(coalesce(json_extract_string(checkout.value, '$.remoteUrls[*]'), [null])) as remote_url
    from builds,
        json_each(builds.payload, '$.actions') as checkout
    where checkout.value ->> '$._class' = 'hudson.plugins.git.util.BuildData'

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
        order by service_code.code_path is null, checkouts.action_position
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
