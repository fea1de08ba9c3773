{#-
    A table past the unions whose rows for a service come from that service's input rows alone (the mainline walk
    of int_mainline_commits: every join and window of it is within one service) rebuilds, on a daily run, only the
    services whose input rows changed since the run that last built it, not every service's whole history.

    A service's input rows are fingerprinted: the sum of the hashes of its whole rows, over every input. The
    fingerprints of the last build are kept beside the model, in `<model>__service_inputs` (service, fingerprint);
    a service whose fingerprint differs, or that is new or gone, is rebuilt: its rows are deleted (pre-hook) and
    selected again (the model, through `for_services_to_rebuild`). The pre-hook, the model and both post-hooks run
    in one transaction, so they see the same input rows (whether to rebuild some services only is decided before it,
    in Jinja, from the model's comment and the fingerprints' table, which nothing writes in between). What changes
    a service's input rows changes its fingerprint: a new or edited record, one quarantined since, a repository
    mapped to another service, a change of code above the model that changes what it writes. Two exceptions, as
    DuckDB's `hash()` has them: an empty list, a NULL and a list of NULLs hash alike (the mainline's `parent_shas`
    is never NULL: a test of the union says so), and two different row sets may collide (a 2^-64 chance). A
    DuckDB version is part of the fingerprint: an upgrade rebuilds every service once.

    Every service is rebuilt when the model's own code (its SQL, the project's macros, dbt's version: its comment,
    macros/incremental_raw.sql) differs from the code that built it, when its fingerprints are missing, and with
    `--full-refresh`. A model using this declares, in its config:
      materialized='incremental', incremental_strategy='append',
      pre_hook="{{ delete_services_to_rebuild(<inputs>) }}", post_hook="{{ remember_service_inputs(<inputs>) }}"
    where <inputs> is the list of relations it reads, each with a `service` column. Its SQL starts its CTEs with
    `services_to_rebuild_cte(<inputs>)` and reads each input through `for_services_to_rebuild(<input>)`.
-#}
-- noqa: disable=LT02

{#- Where a model keeps the fingerprints of the inputs it was last built from. -#}
{% macro service_inputs_relation() -%}
    {%- if execute is not sameas true -%}
        {{- return(this ~ '__service_inputs') -}}
    {%- endif -%}
    {{- return(api.Relation.create(
        database=this.database, schema=this.schema, identifier=this.identifier ~ '__service_inputs'
    )) -}}
{%- endmacro %}

{#- One row per service: the sum of the hashes of every input row of the service (a sum, not a XOR: two equal rows
    do not cancel out). Rows without a service belong to none. -#}
{% macro service_fingerprints(inputs) -%}
    select
        service,
        sum(fingerprint) as fingerprint
    from (
        {%- for input in inputs %}
        select
            input_rows.service,
            hash(version(), {{ loop.index }}, input_rows)::hugeint as fingerprint
        from {{ input }} as input_rows
        where input_rows.service is not null
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as input_fingerprints
    group by service
{%- endmacro %}

{#- Whether this run rebuilds some services only: an incremental run, of the code that built the model, with the
    fingerprints of that build at hand. -#}
{% macro rebuilds_some_services() -%}
    {#- a linter's template has no warehouse to ask: it lints the incremental branch -#}
    {%- if execute is not sameas true -%}
        {{- return(true) -}}
    {%- endif -%}
    {#- a unit test has no `this`: its inputs are its given rows -#}
    {%- if this is none or not is_incremental() -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set stored = service_inputs_relation() -%}
    {%- if adapter.get_relation(stored.database, stored.schema, stored.identifier) is none -%}
        {{- return(false) -}}
    {%- endif -%}
    {{- return(typed_by_this_code(this)) -}}
{%- endmacro %}

{#- The services whose input rows differ from those of the last build (new and gone services included). -#}
{% macro services_to_rebuild(inputs) -%}
    select coalesce(now_inputs.service, last_inputs.service) as service
    from ({{ service_fingerprints(inputs) }}) as now_inputs
    full outer join {{ service_inputs_relation() }} as last_inputs
        on now_inputs.service = last_inputs.service
    where now_inputs.fingerprint is distinct from last_inputs.fingerprint
{%- endmacro %}

{#- The first of the model's CTEs when it rebuilds some services only: which ones (worked out once a build). -#}
{% macro services_to_rebuild_cte(inputs) -%}
    {%- if rebuilds_some_services() -%}
        services_to_rebuild as materialized ({{ services_to_rebuild(inputs) }}),
    {%- endif -%}
{%- endmacro %}

{#- An input as the model reads it: the rows of the services to rebuild, or all of them. -#}
{% macro for_services_to_rebuild(input) -%}
    {%- if rebuilds_some_services() -%}
        (select * from {{ input }} where service in (select services_to_rebuild.service from services_to_rebuild))
    {%- else -%}
        {{ input }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: the rows the model is about to select again. On an incremental run that cannot rebuild some services
    only (its code changed, its fingerprints are missing), that is every row. -#}
{% macro delete_services_to_rebuild(inputs) -%}
    {%- if execute and this is not none and is_incremental() -%}
        {%- if rebuilds_some_services() -%}
            delete from {{ this }} where service in ({{ services_to_rebuild(inputs) }})
        {%- else -%}
            delete from {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: the fingerprints of the inputs this build read, for the next run to compare with. -#}
{% macro remember_service_inputs(inputs) -%}
    create or replace table {{ service_inputs_relation() }} as {{ service_fingerprints(inputs) }}
{%- endmacro %}
