-- Each attempt of a run of a service's deploy workflow on its branch is a production deployment attempt, up to the
-- first successful one: a re-run keeps the run id and raises run_attempt, so a failed attempt is a failed deployment
-- and the deployment happened when the first successful attempt completed (or, when the mapping names a job, when
-- that job completed). Attempts after the first success redeploy nothing and are left out. Conforms to
-- `deployments`; the outcome of each attempt feeds `deployment_statuses`.
with

runs as (

    select * from {{ ref('stg_github_actions__workflow_runs') }}

),

jobs as (

    select * from {{ ref('stg_github_actions__jobs') }}

),

services as (

    {{ mapped_services('github_actions', ['repo', 'workflow', 'branch', 'job']) }}

),

attempts as (

    select
        runs.*,
        services.service,
        services.job as deploy_job,
        jobs.status as job_status,
        jobs.conclusion as job_conclusion,
        jobs.completed_at as job_completed_at
    from runs
    left join services
        on
            runs.repo = services.repo
            and runs.workflow = services.workflow
            and runs.head_branch = services.branch
    left join jobs
        on
            services.job = jobs.job_name
            and runs.run_id = jobs.run_id
            and runs.run_attempt = jobs.run_attempt

),

outcomes as (

    select
        *,
        -- the named job's outcome when the mapping names one, else the whole run's
        case when deploy_job is null then status else coalesce(job_status, 'queued') end as attempt_status,
        case when deploy_job is null then conclusion else job_conclusion end as attempt_conclusion,
        case when deploy_job is null then updated_at else coalesce(job_completed_at, updated_at) end as attempt_at
    from attempts

),

states as (

    select
        *,
        case
            when attempt_status = 'in_progress' then 'in_progress'
            when attempt_status <> 'completed' then 'pending'  -- queued, waiting (for approval), requested
            when attempt_conclusion = 'success' then 'success'
            when attempt_conclusion in ('failure', 'timed_out', 'startup_failure') then 'failure'
            else 'error'  -- cancelled, skipped, neutral, action_required, stale
        end as state,
        min(run_attempt) filter (where attempt_status = 'completed' and attempt_conclusion = 'success') over (
            partition by run_id, service
        ) as first_successful_attempt
    from outcomes

)

select
    'github_actions' as source,  -- noqa: RF04
    'raw_github_actions.workflow_runs' as source_table,
    record_id,
    run_id || ':' || cast(run_attempt as varchar) as deployment_id,
    service,
    repo || ':' || workflow as service_key,
    repo,
    head_sha as sha,
    head_branch as git_ref,
    coalesce(deploy_job, workflow) as environment,
    -- every attempt of the mapped deploy workflow on the mapped branch goes to production
    service is not null as is_production,
    coalesce(run_started_at, created_at) as created_at,
    run_id,
    run_attempt,
    state,
    attempt_at as state_at
from states
where first_successful_attempt is null or run_attempt <= first_successful_attempt
