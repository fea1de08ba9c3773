-- The catalog's services. Where each service is found in each source is in stg_catalog__service_mappings (long
-- form); the models that need a mapping read it in their source's staging folder.
with

services as (

    select * from {{ ref('stg_catalog__services') }}

)

select
    service,
    team,
    availability_target,
    coalesce(attribution_window_hours, {{ var('attribution_window_hours') }}) as attribution_window_hours,
    deployment_source,
    operations_team,
    cost_of_unavailability_per_hour,
    cost_of_delay_per_week
from services
