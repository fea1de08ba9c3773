-- The result of each Jenkins deploy build as a status: success or failure when it ended (timestamp + duration),
-- in progress since it started while it is still building. Conforms to `deployment_statuses`.
with

deployments as (

    select * from {{ ref('stg_jenkins__deployments') }}

)

select distinct
    'jenkins' as source,  -- noqa: RF04
    source_table,
    record_id,
    deployment_id as status_id,
    deployment_id,
    state,
    state_at as created_at
from deployments
