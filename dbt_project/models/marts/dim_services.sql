-- One row per catalog service, with its operating model as of OPMETRICS_AS_OF and where it is found in each source
-- (`mappings`, JSON text keyed by source; dim_service_mappings has the same in long form).
with

services as (

    select * from {{ ref('int_services') }}

),

service_mappings as (

    select * from {{ ref('stg_catalog__service_mappings') }}

),

-- a key with several values (a list in the catalog) becomes a JSON array, a single value stays a string
mapping_keys as (

    select
        service,
        source_name,
        mapping_key,
        case
            when count(*) = 1 then to_json(any_value(mapping_value))
            else to_json(list(mapping_value order by mapping_value))
        end as mapping_value
    from service_mappings
    group by service, source_name, mapping_key

),

source_mappings as (

    select
        service,
        source_name,
        -- a map keeps its keys in the order given: the JSON reads the same on every run
        to_json(
            map(list(mapping_key order by mapping_key), list(mapping_value order by mapping_key))
        ) as mapping  -- noqa: RF04
    from mapping_keys
    group by service, source_name

),

mappings as (

    select
        service,
        string_agg(source_name, ', ' order by source_name) as sources,
        cast(
            to_json(map(list(source_name order by source_name), list(mapping order by source_name))) as varchar
        ) as mappings
    from source_mappings
    group by service

),

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

model_history as (

    select
        operating_model_periods.service,
        -- the model in effect at the as-of instant (periods starting later have not begun)
        arg_max(operating_model_periods.operating_model, operating_model_periods.valid_from_at) filter (
            where operating_model_periods.valid_from_at <= run_parameters.as_of_at
        ) as current_operating_model,
        max(operating_model_periods.valid_from) filter (
            where operating_model_periods.valid_from_at <= run_parameters.as_of_at
        ) as current_operating_model_since,
        arg_min(
            operating_model_periods.operating_model, operating_model_periods.valid_from_at
        ) as first_operating_model,
        count(*) filter (
            where operating_model_periods.previous_operating_model <> operating_model_periods.operating_model
            and operating_model_periods.valid_from_at <= run_parameters.as_of_at
        ) as n_operating_model_changes
    from operating_model_periods
    cross join run_parameters
    group by operating_model_periods.service

)

select
    services.service,
    services.team,
    cast(services.availability_target as double) as availability_target,
    cast(services.attribution_window_hours as double) as attribution_window_hours,
    services.deployment_source,
    mappings.sources,
    mappings.mappings,
    model_history.current_operating_model,
    model_history.current_operating_model_since,
    model_history.first_operating_model,
    cast(coalesce(model_history.n_operating_model_changes, 0) as integer) as n_operating_model_changes
from services
left join mappings
    on services.service = mappings.service
left join model_history
    on services.service = model_history.service
