-- The events behind the paging shares of Table 1 (developer operability incentives), one row per measure and event,
-- shaped like int_learning_outcomes so int_service_period_measures takes them the same way:
--   developer_operability_incentives  an impacting incident whose first responder's team is known, at triggered_at;
--                                     hit: that team is the service's owning product team
--   out_of_hours_page_rate            a page (incident x responder) whose responder's team is known, at paged_at;
--                                     hit: out of hours in the team's time zone and working hours
with

responders as (

    select * from {{ ref('int_incident_responders') }}

),

pages as (

    select * from {{ ref('int_pages') }}

)

select
    'developer_operability_incentives' as measure,
    service,
    source || ':' || incident_id as event_id,
    triggered_at as event_at,
    is_owning_team_first as is_hit
from responders
where is_impacting and first_responder_team is not null

union all

select
    'out_of_hours_page_rate' as measure,
    service,
    page_id as event_id,
    paged_at as event_at,
    is_out_of_hours as is_hit
from pages
where is_out_of_hours is not null
