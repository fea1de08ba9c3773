-- Pages per catalog team and week: who gets paged, how often and when. Grain: team x week, weeks starting Monday
-- 00:00 in the team's own time zone; only weeks in which the team was paged (a quiet week has no row). A page is
-- an incident of a catalog service assigned to or acknowledged by a person (int_pages), counted for the person's
-- team at its first assignment or acknowledgement; pages whose responder's team the catalog does not know are
-- left out.
with

pages as (

    select * from {{ ref('int_pages') }}

),

teams as (

    select * from {{ ref('stg_catalog__teams') }}

),

weekly as (

    select
        pages.responder_team as team,
        cast(date_trunc('week', pages.paged_at_local) as date) as week_start,
        count(*) as pages,
        count(distinct pages.responder_id) as responders,
        count_if(pages.is_out_of_hours) as out_of_hours_pages,
        count_if(pages.is_owning_team) as own_service_pages,
        count(distinct pages.service) as services
    from pages
    where pages.responder_team is not null
    group by pages.responder_team, cast(date_trunc('week', pages.paged_at_local) as date)

)

select
    weekly.team,
    teams.kind as team_kind,
    teams.time_zone,
    weekly.week_start,
    cast(weekly.pages as integer) as pages,
    cast(weekly.responders as integer) as responders,
    weekly.pages / weekly.responders as pages_per_responder,
    cast(weekly.out_of_hours_pages as integer) as out_of_hours_pages,
    100.0 * weekly.out_of_hours_pages / weekly.pages as out_of_hours_share,
    cast(weekly.own_service_pages as integer) as own_service_pages,
    cast(weekly.services as integer) as services
from weekly
inner join teams
    on weekly.team = teams.team
