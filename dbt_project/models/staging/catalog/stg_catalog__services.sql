with

source as (

    select * from {{ source('catalog', 'services') }}

),

renamed as (

    select
        service,
        team,
        cast(availability_target as double) as availability_target,
        cast(attribution_window_hours as double) as attribution_window_hours,
        github_repo,
        github_environment,
        github_branch,
        pagerduty_service_id,
        jira_project,
        opsgenie_team
    from source

)

select * from renamed
