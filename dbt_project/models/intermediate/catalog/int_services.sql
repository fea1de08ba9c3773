-- The catalog's services with the project defaults filled in.
with

services as (

    select * from {{ ref('stg_catalog__services') }}

)

select
    services.service,
    services.team,
    services.availability_target,
    coalesce(services.attribution_window_hours, {{ var('attribution_window_hours') }}) as attribution_window_hours,
    services.github_repo,
    coalesce(services.github_environment, 'production') as github_environment,
    coalesce(services.github_branch, 'main') as github_branch,
    services.pagerduty_service_id,
    services.jira_project,
    services.opsgenie_team
from services
