-- The outcome of each deployment attempt of GitHub Actions as a status, at the time the attempt (or its named deploy
-- job) completed, or last moved while it runs. Conforms to `deployment_statuses`.
with

deployments as (

    select * from {{ ref('stg_github_actions__deployments') }}

)

select distinct
    'github_actions' as source,  -- noqa: RF04
    source_table,
    record_id,
    deployment_id as status_id,
    deployment_id,
    state,
    state_at as created_at
from deployments
