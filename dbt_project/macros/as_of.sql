{#-
    The one place that reads OPMETRICS_AS_OF.

    Every mart is computed as of the start (00:00 UTC) of the day OPMETRICS_AS_OF (YYYY-MM-DD); empty or unset means
    today in UTC. Data at or after that instant is ignored (a deployment that succeeds later has not succeeded yet, an
    incident resolved later is still open), so a run over the same raw data gives the same marts whenever it runs.
    Models read the value through int_run_parameters, which unit tests mock.
-#}
{% macro as_of_date() -%}
    {%- set raw = env_var('OPMETRICS_AS_OF', '') | trim -%}
    {%- if raw == '' -%}
        {%- set raw = modules.datetime.datetime.now(modules.pytz.utc).strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {%- if modules.re.match('^\d{4}-\d{2}-\d{2}$', raw) is none -%}
        {{ exceptions.raise_compiler_error("OPMETRICS_AS_OF must be a date written YYYY-MM-DD, got '" ~ raw ~ "'") }}
    {%- endif -%}
    date '{{ raw }}'
{%- endmacro %}
