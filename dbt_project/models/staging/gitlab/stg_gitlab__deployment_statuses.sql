-- A GitLab deployment's outcome as a status: it succeeded or failed when its deployable job finished (DESIGN's
-- deployment time for GitLab); while running or waiting it is in progress or pending as of its last update.
-- Conforms to `deployment_statuses`.
with

deployments as (

    select * from {{ ref('stg_gitlab__deployments') }}

),

states as (

    select distinct
        record_id,
        deployment_id,
        case
            when status = 'success' then 'success'
            when status = 'failed' then 'failure'
            when status in ('canceled', 'skipped') then 'error'
            when status = 'running' then 'in_progress'
            else 'pending'  -- created, blocked (awaiting approval)
        end as state,
        case
            when status in ('success', 'failed', 'canceled') then coalesce(finished_at, updated_at)
            else updated_at
        end as created_at
    from deployments

)

select
    'gitlab' as source,  -- noqa: RF04
    'raw_gitlab.deployments' as source_table,
    record_id,
    deployment_id as status_id,
    deployment_id,
    state,
    created_at
from states
