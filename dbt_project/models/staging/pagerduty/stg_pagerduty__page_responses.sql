-- Who each PagerDuty incident paged: its acknowledgers (acknowledge log entries by a user), the users it was
-- assigned to (assign log entries, and the incident's current assignments, which PagerDuty empties on resolve).
-- One row per response; a user paged twice for one incident has two rows (int_pages keeps their first).
-- Conforms to `page_responses`; PagerDuty pages carry no team of their own (pager_team null): a responder's team
-- comes from their user (stg_pagerduty__user_teams).
with

log_entries as (

    select * from {{ ref('stg_pagerduty__log_entries') }}

),

incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

acknowledgements as (

    select
        'raw_pagerduty.log_entries' as source_table,
        record_id,
        incident_id,
        agent_id as responder_id,
        agent_name as responder_name,
        'acknowledged' as response,
        created_at as responded_at
    from log_entries
    where log_entry_type = 'acknowledge_log_entry' and agent_type like 'user%'

),

logged_assignees as (

    select
        record_id,
        incident_id,
        created_at,
        unnest(coalesce(json_transform(assignees, '[{"id": "VARCHAR", "summary": "VARCHAR"}]'), [])) as assignee
    from log_entries
    where log_entry_type = 'assign_log_entry'

),

current_assignments as (

    select
        record_id,
        incident_id,
        unnest(coalesce(
            json_transform(assignments, '[{"at": "VARCHAR", "assignee": {"id": "VARCHAR", "summary": "VARCHAR"}}]'),
            []
        )) as assigned
    from incidents

),

responses as (

    select * from acknowledgements

    union all

    select
        'raw_pagerduty.log_entries' as source_table,
        record_id,
        incident_id,
        assignee.id as responder_id,
        assignee.summary as responder_name,
        'assigned' as response,
        created_at as responded_at
    from logged_assignees

    union all

    select
        'raw_pagerduty.incidents' as source_table,
        record_id,
        incident_id,
        assigned.assignee.id as responder_id,
        assigned.assignee.summary as responder_name,
        'assigned' as response,
        {{ to_utc_timestamp('assigned.at') }} as responded_at
    from current_assignments

)

select
    'pagerduty' as source,  -- noqa: RF04
    source_table,
    record_id,
    incident_id,
    responder_id,
    responder_name,
    response,
    responded_at,
    cast(null as varchar) as pager_team
from responses
where responder_id is not null and responded_at is not null
