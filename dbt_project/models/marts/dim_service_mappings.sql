-- Where each service is found in each source, one row per key of the source's mapping (a list-valued key has one
-- row per item): the long form of dim_services.mappings, for BI tools that join rather than read JSON.
with

service_mappings as (

    select * from {{ ref('stg_catalog__service_mappings') }}

)

select
    service,
    source_name as source,  -- noqa: RF04
    mapping_key,
    mapping_value
from service_mappings
