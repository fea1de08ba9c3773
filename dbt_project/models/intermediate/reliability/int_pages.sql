-- Every page: one row per incident of a catalog service and person it paged (assigned to them or acknowledged by
-- them), as known at the as-of instant, with the responder's catalog team and whether the page came out of hours.
-- A responder's team: the catalog teams whose pager teams (team_pager_ids) the responder is on (responder_teams), or
-- that the page was routed to (page_responses.pager_team). A responder in two teams counts for the team owning the
-- incident's service when it is one of them, else for the first by name. No team found: the team columns are null.
-- Out of hours: outside the team's working days and hours in the team's own time zone (timezone() converts with
-- the zone's rules on that day, so a daylight-saving change moves the boundary with the clock). The working day
-- runs from working_start (in hours) to working_end (out of hours).
with

incidents as (

    select * from {{ ref('int_incidents') }}

),

responses as (

    select * from {{ ref('int_page_responses_unioned') }}

),

memberships as (

    select * from {{ ref('int_responder_teams_unioned') }}

),

pager_ids as (

    select * from {{ ref('stg_catalog__team_pager_ids') }}

),

teams as (

    select * from {{ ref('stg_catalog__teams') }}

),

services as (

    select * from {{ ref('int_services') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

known_responses as (

    select
        responses.source,
        responses.incident_id,
        responses.responder_id,
        responses.responder_name,
        responses.response,
        responses.responded_at,
        responses.pager_team,
        incidents.service,
        incidents.is_impacting,
        services.team as owning_team
    from responses
    inner join incidents
        on
            responses.source = incidents.source
            and responses.incident_id = incidents.incident_id
    inner join services
        on incidents.service = services.service
    cross join run_parameters
    where responses.responded_at < run_parameters.as_of_at

),

paged as (

    select
        source,
        incident_id,
        responder_id,
        service,
        owning_team,
        is_impacting,
        min(responder_name) as responder_name,
        min(responded_at) as paged_at,
        min(responded_at) filter (where response = 'acknowledged') as first_acknowledged_at,
        min(responded_at) filter (where response = 'assigned') as first_assigned_at
    from known_responses
    group by source, incident_id, responder_id, service, owning_team, is_impacting

),

candidate_teams as (

    -- the catalog teams of the pager teams the responder is on
    select
        paged.source,
        paged.incident_id,
        paged.responder_id,
        pager_ids.team
    from paged
    inner join memberships
        on
            paged.source = memberships.source
            and paged.responder_id = memberships.responder_id
    inner join pager_ids
        on
            memberships.source = pager_ids.source_name
            and memberships.pager_team = pager_ids.pager_team

    union

    -- the catalog team of the pager team the page was routed to
    select
        known_responses.source,
        known_responses.incident_id,
        known_responses.responder_id,
        pager_ids.team
    from known_responses
    inner join pager_ids
        on
            known_responses.source = pager_ids.source_name
            and known_responses.pager_team = pager_ids.pager_team

),

responder_teams as (

    select
        candidate_teams.source,
        candidate_teams.incident_id,
        candidate_teams.responder_id,
        -- the owning team wins; else the first by name
        coalesce(
            min(candidate_teams.team) filter (where candidate_teams.team = paged.owning_team),
            min(candidate_teams.team)
        ) as responder_team
    from candidate_teams
    inner join paged
        on
            candidate_teams.source = paged.source
            and candidate_teams.incident_id = paged.incident_id
            and candidate_teams.responder_id = paged.responder_id
    group by candidate_teams.source, candidate_teams.incident_id, candidate_teams.responder_id

),

placed as (

    select
        paged.*,
        responder_teams.responder_team,
        teams.kind as responder_team_kind,
        teams.time_zone as responder_time_zone,
        teams.working_isodows,
        teams.working_start,
        teams.working_end,
        timezone(teams.time_zone, paged.paged_at) as paged_at_local
    from paged
    left join responder_teams
        on
            paged.source = responder_teams.source
            and paged.incident_id = responder_teams.incident_id
            and paged.responder_id = responder_teams.responder_id
    left join teams
        on responder_teams.responder_team = teams.team

)

select
    source || ':' || incident_id || ':' || responder_id as page_id,
    source,
    incident_id,
    service,
    owning_team,
    is_impacting,
    responder_id,
    responder_name,
    responder_team,
    responder_team_kind,
    responder_team = owning_team as is_owning_team,
    paged_at,
    first_acknowledged_at,
    first_assigned_at,
    responder_time_zone,
    paged_at_local,
    case
        when responder_team_kind is not null
            then not (
                list_contains(working_isodows, isodow(paged_at_local))
                and cast(paged_at_local as time) >= working_start
                and cast(paged_at_local as time) < working_end
            )
    end as is_out_of_hours
from placed
