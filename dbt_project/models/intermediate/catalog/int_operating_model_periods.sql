-- SCD2 of each service's operating model: one row per effective period [valid_from_at, valid_to_at).
-- A config date means midnight of that day in the configured time zone.
with

entries as (

    select * from {{ ref('stg_catalog__operating_models') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

periods as (

    select
        entries.service,
        entries.operating_model,
        entries.valid_from,
        lead(entries.valid_from) over (partition by entries.service order by entries.valid_from) as valid_to,
        timezone(run_parameters.timezone, cast(entries.valid_from as timestamp)) as valid_from_at,
        lag(entries.operating_model) over (
            partition by entries.service order by entries.valid_from
        ) as previous_operating_model
    from entries
    cross join run_parameters

)

select
    service || '@' || cast(valid_from as varchar) as operating_model_period_id,
    periods.service,
    periods.operating_model,
    periods.previous_operating_model,
    periods.valid_from,
    periods.valid_to,
    periods.valid_from_at,
    timezone(run_parameters.timezone, cast(periods.valid_to as timestamp)) as valid_to_at,
    periods.valid_to is null as is_latest
from periods
cross join run_parameters
