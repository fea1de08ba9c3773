-- Each incident of a catalog service with its first responder: the first to acknowledge it, else the first it was
-- assigned to (an escalation from the product team to operations counts for whoever acknowledged first). Null
-- responder: nobody was paged (e.g. resolved automatically); null team: the responder's team is not in the catalog.
with

incidents as (

    select * from {{ ref('int_incidents') }}

),

pages as (

    select * from {{ ref('int_pages') }}

),

services as (

    select * from {{ ref('int_services') }}

),

first_pages as (

    select
        source,
        incident_id,
        coalesce(
            arg_min(page_id, first_acknowledged_at) filter (where first_acknowledged_at is not null),
            arg_min(page_id, first_assigned_at) filter (where first_assigned_at is not null)
        ) as page_id,
        count(*) as responders
    from pages
    group by source, incident_id

)

select
    incidents.source,
    incidents.incident_id,
    incidents.service,
    services.team as owning_team,
    incidents.is_impacting,
    incidents.triggered_at,
    coalesce(first_pages.responders, 0) as responders,
    pages.responder_id as first_responder_id,
    pages.responder_name as first_responder_name,
    pages.responder_team as first_responder_team,
    pages.responder_team_kind as first_responder_team_kind,
    -- the owning team is a product team and its own member answered first
    pages.responder_team = services.team and pages.responder_team_kind = 'product' as is_owning_team_first
from incidents
inner join services
    on incidents.service = services.service
left join first_pages
    on
        incidents.source = first_pages.source
        and incidents.incident_id = first_pages.incident_id
left join pages
    on first_pages.page_id = pages.page_id
