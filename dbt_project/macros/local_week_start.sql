{#-
    The Monday (DATE) of the week holding a TIMESTAMPTZ, in the time zone held by the expression `tz`
    (an IANA name such as 'Europe/London'): weekly marts bucket by local weeks.
-#}
{% macro local_week_start(ts, tz) -%}
    cast(date_trunc('week', timezone({{ tz }}, {{ ts }})) as date)
{%- endmacro %}
