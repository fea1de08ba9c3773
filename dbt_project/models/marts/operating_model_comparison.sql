-- The playbook's Table 1 redrawn from the organisation's data: each measure per operating model over the trailing
-- window_days ending at OPMETRICS_AS_OF, with its band.
-- The values come from int_operating_model_measures (rates: the median of the services' figures; durations: the
-- pooled median of the events). A value behind which fewer than 5 figures (rates) or events (durations) stand is
-- given, and marked low-confidence. Every measure has a row for every operating model, valued or not; a row the data
-- cannot measure yet says why (not_measured_reason, from the measures seed).
-- A measure made of others (learning_predisposition) is valued here, from its parts' playbook bands: the percent of
-- its valued parts in their best band (band_order 1, "Act on insights"); its own bands turn that into words.
-- A total-cost-of-ownership share (share_of in the measures seed) is the model's cost per service per year as a
-- percent of the higher of the models' costs; it has a value only when both models have a cost.
with

operating_model_measures as (

    select * from {{ ref('int_operating_model_measures') }}

),

measures as (

    select * from {{ ref('measures') }}

),

bands as (

    select * from {{ ref('bands') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

operating_models as (

    select * from {{ ref('operating_models') }}

),

playbook_expectations as (

    select * from {{ ref('playbook_expectations') }}

),

measured as (

    select * from operating_model_measures
    where period_kind = 'comparison'

),

-- the playbook band of each part of a composed measure
part_bands as (

    select
        measures.part_of as measure,
        measured.operating_model,
        playbook_bands.band_order,
        measured.n_services,
        measured.n_values
    from measured
    inner join measures
        on measured.measure = measures.measure
    left join bands as playbook_bands
        on
            playbook_bands.band_set = 'playbook'
            and measures.measure_kind = playbook_bands.measure_kind
            and (playbook_bands.measure = '*' or measured.measure = playbook_bands.measure)
            and {{ band_matches('measured.measure_value', 'playbook_bands') }}
    where measures.part_of is not null

),

-- n_events of a composed measure: its parts with a band; its confidence is its weakest part's
composed as (

    select
        measure,
        operating_model,
        100.0 * count_if(band_order = 1) / nullif(count(band_order), 0) as measure_value,
        cast(null as double) as p85,
        max(n_services) as n_services,
        count(band_order) as n_events,
        min(n_values) as n_values
    from part_bands
    group by measure, operating_model

),

cost_shares as (

    select
        measures.measure,
        measured.operating_model,
        case
            when count(measured.measure_value) over (partition by measures.measure) >= 2
                -- the ratio first: the costlier model's own share is then exactly 100
                then 100.0 * (
                    measured.measure_value
                    / nullif(max(measured.measure_value) over (partition by measures.measure), 0)
                )
        end as measure_value,
        cast(null as double) as p85,
        measured.n_services,
        measured.n_events,
        measured.n_values
    from measured
    inner join measures
        on measured.measure = measures.share_of

),

valued as (

    select
        measure,
        operating_model,
        measure_value,
        p85,
        n_services,
        n_events,
        n_values
    from measured
    union all
    select * from composed
    union all
    select * from cost_shares

),

table_1 as (

    select
        measures.measure,
        measures.label as measure_label,
        measures.display_order,
        measures.measure_kind,
        measures.unit,
        measures.aggregation,
        measures.not_measured_reason,
        operating_models.operating_model,
        operating_models.label as operating_model_label,
        operating_models.display_order as operating_model_order,
        valued.measure_value,
        valued.p85,
        coalesce(valued.n_services, 0) as n_services,
        coalesce(valued.n_events, 0) as n_events,
        coalesce(valued.n_values, 0) as n_values
    from measures
    cross join operating_models
    left join valued
        on
            measures.measure = valued.measure
            and operating_models.operating_model = valued.operating_model

)

select
    table_1.measure,
    table_1.operating_model,
    table_1.measure_value as value,  -- noqa: RF04
    replace(table_1.unit, '{currency}', run_parameters.currency) as unit,
    playbook_bands.band,
    case when table_1.n_values < 5 then 'low' else 'normal' end as band_confidence,
    dora_bands.band as dora_band,
    table_1.p85,
    cast(table_1.n_services as integer) as n_services,
    cast(table_1.n_events as integer) as n_events,
    table_1.aggregation,
    cast(table_1.display_order as integer) as display_order,
    cast(run_parameters.window_start_at as date) as window_start,
    cast(run_parameters.window_end_at as date) as window_end,
    run_parameters.window_days,
    run_parameters.as_of_date as as_of,
    table_1.measure_label,
    table_1.operating_model_label,
    cast(table_1.operating_model_order as integer) as operating_model_order,
    playbook_expectations.expectation as playbook_expectation,
    -- whether the band lies in the playbook's range for the model; null when the playbook gives none or no value
    list_contains(string_split(playbook_expectations.expected_bands, '|'), playbook_bands.band) as is_in_playbook_range,
    -- what the row needs, where it has no figure
    case when table_1.measure_value is null then table_1.not_measured_reason end as not_measured_reason
from table_1
cross join run_parameters
left join playbook_expectations
    on
        table_1.measure = playbook_expectations.measure
        and table_1.operating_model = playbook_expectations.operating_model
left join bands as playbook_bands
    on
        playbook_bands.band_set = 'playbook'
        and table_1.measure_kind = playbook_bands.measure_kind
        and (playbook_bands.measure = '*' or table_1.measure = playbook_bands.measure)
        and {{ band_matches('table_1.measure_value', 'playbook_bands') }}
left join bands as dora_bands
    on
        dora_bands.band_set = 'dora_2023'
        and table_1.measure_kind = dora_bands.measure_kind
        and (dora_bands.measure = '*' or table_1.measure = dora_bands.measure)
        and {{ band_matches('table_1.measure_value', 'dora_bands') }}
