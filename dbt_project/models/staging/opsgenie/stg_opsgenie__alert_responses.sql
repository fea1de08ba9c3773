-- Who each Opsgenie alert paged: its acknowledger (report.acknowledgedBy, a username) and the users it was routed to
-- (responders of type user). Opsgenie's list of alerts says nothing of a user's teams, so a response carries the
-- team the alert was read for (pager_team): the catalog's teams claim it with `opsgenie_teams`.
-- Conforms to `page_responses`.
with

alerts as (

    select * from {{ ref('stg_opsgenie__alerts') }}

),

routed as (

    select
        base.record_id,
        base.alert_id,
        base.opsgenie_team,
        base.triggered_at,
        unnest(coalesce(
            json_transform(base.responders, '[{"type": "VARCHAR", "id": "VARCHAR", "username": "VARCHAR"}]'), []
        )) as responder
    from {{ ref('base_opsgenie__alerts') }} as base
    where base.record_id in (select alerts.record_id from alerts)

),

responses as (

    select
        record_id,
        incident_id,
        acknowledged_by as responder_id,
        acknowledged_by as responder_name,
        'acknowledged' as response,
        acknowledged_at as responded_at,
        opsgenie_team as pager_team
    from alerts
    where acknowledged_by is not null and acknowledged_at is not null

    union all

    select
        record_id,
        alert_id as incident_id,
        coalesce(responder.username, responder.id) as responder_id,
        coalesce(responder.username, responder.id) as responder_name,
        'assigned' as response,
        triggered_at as responded_at,
        opsgenie_team as pager_team
    from routed
    where responder.type = 'user'

)

select
    'opsgenie' as source,  -- noqa: RF04
    'raw_opsgenie.alerts' as source_table,
    record_id,
    incident_id,
    responder_id,
    responder_name,
    response,
    responded_at,
    pager_team
from responses
