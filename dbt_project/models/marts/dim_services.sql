-- One row per catalog service, with its operating model as of OPMETRICS_AS_OF.
with

services as (

    select * from {{ ref('int_services') }}

),

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

model_history as (

    select
        operating_model_periods.service,
        -- the model in effect at the as-of instant (periods starting later have not begun)
        arg_max(operating_model_periods.operating_model, operating_model_periods.valid_from_at) filter (
            where operating_model_periods.valid_from_at <= run_parameters.as_of_at
        ) as current_operating_model,
        max(operating_model_periods.valid_from) filter (
            where operating_model_periods.valid_from_at <= run_parameters.as_of_at
        ) as current_operating_model_since,
        arg_min(
            operating_model_periods.operating_model, operating_model_periods.valid_from_at
        ) as first_operating_model,
        count(*) filter (
            where operating_model_periods.previous_operating_model <> operating_model_periods.operating_model
            and operating_model_periods.valid_from_at <= run_parameters.as_of_at
        ) as n_operating_model_changes
    from operating_model_periods
    cross join run_parameters
    group by operating_model_periods.service

)

select
    services.service,
    services.team,
    cast(services.availability_target as double) as availability_target,
    cast(services.attribution_window_hours as double) as attribution_window_hours,
    services.github_repo,
    services.github_environment,
    services.github_branch,
    services.pagerduty_service_id,
    services.jira_project,
    model_history.current_operating_model,
    model_history.current_operating_model_since,
    model_history.first_operating_model,
    cast(coalesce(model_history.n_operating_model_changes, 0) as integer) as n_operating_model_changes
from services
left join model_history
    on services.service = model_history.service
