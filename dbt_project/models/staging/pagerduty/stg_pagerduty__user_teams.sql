-- Which PagerDuty team each user is on, one row per user and team (a user on no team has none): how a responder
-- finds their catalog team (the catalog's teams list their `pagerduty_team_ids`). Conforms to `responder_teams`.
with

users as (

    select * from {{ ref('stg_pagerduty__users') }}

),

memberships as (

    select
        users.record_id,
        users.user_id,
        users.user_name,
        unnest(coalesce(json_transform(users.teams, '[{"id": "VARCHAR"}]'), [])) as team
    from users

),

member_teams as (

    select
        memberships.record_id,
        memberships.user_id,
        memberships.user_name,
        memberships.team.id as team_id
    from memberships

)

select
    'pagerduty' as source,  -- noqa: RF04
    'raw_pagerduty.users' as source_table,
    record_id,
    user_id as responder_id,
    user_name as responder_name,
    team_id as pager_team
from member_teams
where team_id is not null
