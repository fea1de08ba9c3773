{#-
    Pre-hook of int_service_period_measures: delete the rows it must measure again, before it measures what has no
    rows left. A week's rows stay while its inputs' fingerprint (int_service_week_inputs) is the one they were measured
    with; every other period (the comparison window, before and after migrations) is measured on every run, and a
    table built by other code is measured again whole.
-#}
-- noqa: disable=LT02
{% macro delete_service_weeks_to_measure() -%}
    {%- if execute and is_incremental() -%}
        delete from {{ this }} as measured
        {%- if typed_by_this_code(this) %}
        where
            measured.period_kind <> 'week'
            or not exists (
                select 1
                from {{ ref('int_service_week_inputs') }} as inputs
                where
                    inputs.service = measured.service
                    and inputs.week_start = measured.week_start
                    and inputs.inputs_fingerprint = measured.inputs_fingerprint
            )
        {%- endif %}
    {%- endif -%}
{%- endmacro %}
-- noqa: enable=LT02
