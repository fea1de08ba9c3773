-- SCD2 of the services' operating models: one row per service and effective period [valid_from, valid_to).
with

operating_model_periods as (

    select * from {{ ref('int_operating_model_periods') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

)

select
    operating_model_periods.operating_model_period_id,
    operating_model_periods.service,
    operating_model_periods.operating_model,
    operating_model_periods.previous_operating_model,
    operating_model_periods.valid_from,
    operating_model_periods.valid_to,
    operating_model_periods.valid_from_at,
    operating_model_periods.valid_to_at,
    operating_model_periods.valid_from_at <= run_parameters.as_of_at
    and (
        operating_model_periods.valid_to_at > run_parameters.as_of_at
        or operating_model_periods.valid_to_at is null
    ) as is_current
from operating_model_periods
cross join run_parameters
