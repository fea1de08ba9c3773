-- Table 1 week by week: each measure per operating model and local week (weeks start Monday in the configured time
-- zone), by the same rules as operating_model_comparison (int_operating_model_measures). A service that changed model
-- inside a week counts for each model with its own part of the week. The week holding the as-of instant is measured
-- up to it and flagged incomplete.
with

operating_model_measures as (

    select * from {{ ref('int_operating_model_measures') }}

),

measures as (

    select * from {{ ref('measures') }}

),

operating_models as (

    select * from {{ ref('operating_models') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

)

select
    operating_model_measures.week_start,
    operating_model_measures.operating_model,
    operating_model_measures.measure,
    operating_model_measures.measure_value as value,  -- noqa: RF04
    measures.unit,
    operating_model_measures.p85,
    cast(operating_model_measures.n_services as integer) as n_services,
    cast(operating_model_measures.n_events as integer) as n_events,
    timezone(run_parameters.timezone, cast(operating_model_measures.week_start + 7 as timestamp))
    <= run_parameters.as_of_at as is_complete_week,
    measures.label as measure_label,
    operating_models.label as operating_model_label,
    cast(measures.display_order as integer) as display_order
from operating_model_measures
inner join measures
    on operating_model_measures.measure = measures.measure
inner join operating_models
    on operating_model_measures.operating_model = operating_models.operating_model
cross join run_parameters
where operating_model_measures.period_kind = 'week'
