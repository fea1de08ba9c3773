{#- Exact elapsed time between two TIMESTAMPTZ, as DOUBLE, in hours / minutes / days. -#}
{% macro hours_between(start_at, end_at) -%}
    (epoch({{ end_at }}) - epoch({{ start_at }})) / 3600.0
{%- endmacro %}

{% macro minutes_between(start_at, end_at) -%}
    (epoch({{ end_at }}) - epoch({{ start_at }})) / 60.0
{%- endmacro %}

{% macro days_between(start_at, end_at) -%}
    (epoch({{ end_at }}) - epoch({{ start_at }})) / 86400.0
{%- endmacro %}

{#- Hours that [start_a, end_a) and [start_b, end_b) share, for rows joined on their overlap (so it is positive). -#}
{% macro overlap_hours(start_a, end_a, start_b, end_b) -%}
    {{ hours_between('greatest(' ~ start_a ~ ', ' ~ start_b ~ ')', 'least(' ~ end_a ~ ', ' ~ end_b ~ ')') }}
{%- endmacro %}
