-- Every assumption the cost figures rest on, one row each, as the catalog and the project give them: each
-- service's cost of unavailability and of delay, each team's hourly cost and on-call allowance (null where the
-- catalog gives none: that service or team is not priced), who is on call under each operating model, and the
-- repeat window of the learning culture's cost. Nothing the cost marts use is a constant hidden in SQL.
with

services as (

    select * from {{ ref('int_services') }}

),

teams as (

    select * from {{ ref('stg_catalog__teams') }}

),

operating_models as (

    select * from {{ ref('operating_models') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

assumptions as (

    select
        'service' as subject_kind,
        services.service as subject,
        'unavailability_per_hour' as assumption,
        services.cost_of_unavailability_per_hour as assumed_value,
        run_parameters.currency || ' per hour of downtime' as unit,
        'catalog: services[].costs.unavailability_per_hour' as given_in
    from services
    cross join run_parameters

    union all

    select
        'service' as subject_kind,
        services.service as subject,
        'delay_per_week' as assumption,
        services.cost_of_delay_per_week as assumed_value,
        run_parameters.currency || ' per change per week of lead time' as unit,
        'catalog: services[].costs.delay_per_week' as given_in
    from services
    cross join run_parameters

    union all

    select
        'team' as subject_kind,
        teams.team as subject,
        'hourly' as assumption,
        teams.hourly_cost as assumed_value,
        run_parameters.currency || ' per person-hour' as unit,
        'catalog: teams[].costs.hourly' as given_in
    from teams
    cross join run_parameters

    union all

    select
        'team' as subject_kind,
        teams.team as subject,
        'on_call_allowance_per_week' as assumption,
        teams.on_call_allowance_per_week as assumed_value,
        run_parameters.currency || ' per week of the team''s rota' as unit,
        'catalog: teams[].costs.on_call_allowance_per_week' as given_in
    from teams
    cross join run_parameters

    union all

    select
        'operating_model' as subject_kind,
        operating_model as subject,
        'on_call: ' || on_call as assumption,
        cast(null as double) as assumed_value,
        'who is on call and carries the allowance' as unit,
        'seed: operating_models.on_call' as given_in
    from operating_models

    union all

    select
        'project' as subject_kind,
        'learning_culture_cost' as subject,
        'repeat window' as assumption,
        cast(learning_follow_up_days as double) as assumed_value,
        'days after an impacting incident resolved' as unit,
        'dbt var: learning_follow_up_days' as given_in
    from run_parameters

)

select
    subject_kind || ':' || subject || ':' || assumption as assumption_id,
    *
from assumptions
