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
