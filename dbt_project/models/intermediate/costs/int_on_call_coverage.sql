-- Which team is on call for each service, when, and the share of that team's on-call allowance the service carries.
-- The operating_models seed says who is on call under each model (on_call: the service's owning team, or its
-- operations team); a team's weekly allowance is split equally over the services it covers at the time, so a team
-- on call for four services charges each a quarter. One row per service and segment [start_at, end_at) within which
-- its team covers a fixed set of services; the last segment runs to the as-of instant.
with

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

services as (

    select * from {{ ref('int_services') }}

),

operating_models as (

    select * from {{ ref('operating_models') }}

),

teams as (

    select * from {{ ref('stg_catalog__teams') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

covered as (

    select
        operating_model_periods.service,
        operating_model_periods.valid_from_at as start_at,
        coalesce(operating_model_periods.valid_to_at, run_parameters.as_of_at) as end_at,
        case operating_models.on_call
            when 'owning_team' then services.team
            when 'operations_team' then services.operations_team
        end as on_call_team
    from operating_model_periods
    cross join run_parameters
    inner join services
        on operating_model_periods.service = services.service
    inner join operating_models
        on operating_model_periods.operating_model = operating_models.operating_model

),

boundaries as (

    select distinct
        on_call_team,
        unnest([start_at, end_at]) as boundary_at
    from covered
    where on_call_team is not null and start_at < end_at

),

segments as (

    select
        on_call_team,
        boundary_at as start_at,
        lead(boundary_at) over (partition by on_call_team order by boundary_at) as end_at
    from boundaries

),

segment_services as (

    select
        covered.service,
        segments.on_call_team,
        segments.start_at,
        segments.end_at,
        count(*) over (partition by segments.on_call_team, segments.start_at) as n_services
    from segments
    inner join covered
        on
            segments.on_call_team = covered.on_call_team
            and segments.start_at >= covered.start_at
            and segments.end_at <= covered.end_at
    where segments.end_at is not null

)

select
    segment_services.service || ':' || cast(segment_services.start_at as varchar) as coverage_id,
    segment_services.service,
    segment_services.on_call_team,
    segment_services.start_at,
    segment_services.end_at,
    cast(segment_services.n_services as integer) as n_services,
    teams.on_call_allowance_per_week,
    teams.on_call_allowance_per_week / segment_services.n_services as allowance_share_per_week
from segment_services
left join teams
    on segment_services.on_call_team = teams.team
