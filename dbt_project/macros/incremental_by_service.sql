{#-
    A table past the unions whose rows for a service come from that service's input rows alone (the mainline walk
    of int_mainline_commits: every join and window of it is within one service) rebuilds, on a daily run, only the
    services whose input rows changed since the run that last built it, not every service's whole history.

    A service's input rows are fingerprinted: the sum of the hashes of its whole rows, over every input. The
    fingerprints of the last build are kept beside the model, in `<model>__service_inputs` (service, fingerprint);
    a service whose fingerprint differs, or that is new or gone, is rebuilt: its rows are deleted (pre-hook) and
    selected again (the model, through `for_services_to_rebuild`). Both read the same state inside the model's
    one transaction, before the post-hook writes the new fingerprints. Anything that changes a service's input
    rows changes its fingerprint (but for a 2^-64 chance): a new or edited record, one quarantined since, a
    repository mapped to another service, a change of code above the model that changes what it writes.

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
            hash({{ loop.index }}, input_rows)::hugeint as fingerprint
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
    {#- a unit test has no `this`: its inputs are its given rows -#}
    {%- if not (execute and this is not none and is_incremental()) -%}
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
