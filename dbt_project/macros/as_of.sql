{#-
    The one place that reads OPMETRICS_AS_OF.

    Every mart is computed as of the start (00:00 UTC) of the day OPMETRICS_AS_OF (YYYY-MM-DD); empty or unset means
    today in UTC. Data at or after that instant is ignored (a deployment that succeeds later has not succeeded yet, an
    incident resolved later is still open), so a run over the same raw data gives the same marts whenever it runs.
    Models read the value through int_run_parameters, which unit tests mock.
-#}
{% macro as_of_date() -%}
    {#- Read when the model runs, not when dbt parses it: dbt re-parses every file whose parse read an environment
        variable that has changed since, and the as-of date changes every day. The parse needs no date. -#}
    {%- if execute is not sameas true -%}
        {{- return("date '1970-01-01'") -}}
    {%- endif -%}
    {%- set raw = env_var('OPMETRICS_AS_OF', '') | trim -%}
    {%- if raw == '' -%}
        {%- set raw = modules.datetime.datetime.now(modules.pytz.utc).strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {%- if modules.re.match('^\d{4}-\d{2}-\d{2}$', raw) is none -%}
        {{ exceptions.raise_compiler_error("OPMETRICS_AS_OF must be a date written YYYY-MM-DD, got '" ~ raw ~ "'") }}
    {%- endif -%}
    date '{{ raw }}'
{%- endmacro %}
