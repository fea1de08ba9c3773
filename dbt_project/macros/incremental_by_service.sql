{#-
    A table past the unions whose rows for a service come from that service's input rows alone (every join and window
    of it is within one service: the mainline walk of int_mainline_commits, the changes of int_changes) rebuilds, on
    a daily run, only the services whose input rows changed since the run that last built it, not every service's
    whole history.

    A service's rows in a table are fingerprinted: the sum of the hashes of its whole rows. A table that keeps its
    fingerprints, `<table>__service_fingerprints` (service, fingerprint), keeps them as its rows change, at the cost
    of the rows it rewrites: a union (macros/incremental_union.sql) or a model built this way that another model built
    this way reads (the project's graph says which; one that stops being read drops its table). Its pre-hook forgets
    the fingerprints of the services whose rows it is about to delete; its post-hook fingerprints the services that
    have rows and no fingerprint. The forgetting runs before the build's transaction opens: a build that fails leaves
    those services without a fingerprint, which the next build takes again from the rows. An input that keeps none
    (int_deployments) is hashed whole.

    A model built this way remembers, beside it in `<model>__service_inputs` (service, fingerprint), each service's
    fingerprint of its inputs: theirs, combined with each input's columns (names and types: a row's hash has neither,
    so a renamed column would otherwise rebuild nothing and leave the column empty), and for an input whose rows count
    only before the run's as-of time, how many of the service's rows do. A service whose fingerprint differs, or that is new or gone, is rebuilt: its
    rows are deleted (pre-hook) and selected again (the model, through `for_services_to_rebuild`). The pre-hook's
    delete, the model and the post-hooks run in one transaction, so they see the same inputs (whether to rebuild some services
    only is decided before it, in Jinja, from the model's comment and the fingerprints' table, which nothing writes
    in between). What changes a service's input rows changes its fingerprint: a new or edited record, one quarantined
    since, a repository mapped to another service, a change of code above the model that changes what it writes, a
    row the as-of time now counts (or no longer does). Two exceptions, as DuckDB's `hash()` has them: an empty list, a
    NULL and a list of NULLs hash alike (the mainline's `parent_shas` is never NULL: a test of the union says so),
    and two different row sets may collide (a 2^-64 chance). A DuckDB version is part of the fingerprint: an upgrade
    rebuilds every service once (and re-unions every union: their digest holds it too).

    Every service is rebuilt when the model's own code (its SQL, the project's macros, dbt's version: its comment,
    macros/incremental_raw.sql) differs from the code that built it, when its fingerprints are missing, and with
    `--full-refresh`. A model using this declares, in its config:
      materialized='incremental', incremental_strategy='append',
      meta={'service_inputs': [<model names>], 'as_of_columns': {<model name>: <timestamp column>}},
      pre_hook="{{ delete_services_to_rebuild() }}", post_hook="{{ remember_service_inputs() }}"
    where every input has a `service` column, and `as_of_columns` (optional) names, for an input whose rows the model
    reads only before int_run_parameters' as_of_at, the column it compares. Its SQL starts its CTEs with
    `services_to_rebuild_cte()` and reads each input through `for_services_to_rebuild(ref(<name>))`.
-#}
-- noqa: disable=LT02

{#- A relation beside the running model (or beside `relation`): `<name>__<suffix>`. -#}
{% macro relation_beside(suffix, relation=none) -%}
    {%- set of = relation if relation is not none else this -%}
    {%- if execute is not sameas true -%}
        {{- return(of ~ '__' ~ suffix) -}}
    {%- endif -%}
    {{- return(api.Relation.create(
        database=of.database, schema=of.schema, identifier=of.identifier ~ '__' ~ suffix
    )) -}}
{%- endmacro %}

{#- Whether the model named `name` keeps its services' fingerprints as its rows change: it is a union or a model
    built this way, and a model built this way reads it. From the project's graph, not from the warehouse: a table
    left behind by a model that no longer keeps it is never read. -#}
{% macro maintains_service_fingerprints(name) -%}
    {%- if execute is not sameas true -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set ns = namespace(writer=false, read=false) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
        {%- set meta = node.config.get('meta', {}) -%}
        {%- if node.name == name and (meta.get('event_kind') or meta.get('service_inputs')) -%}
            {%- set ns.writer = true -%}
        {%- endif -%}
        {%- if name in meta.get('service_inputs', []) -%}
            {%- set ns.read = true -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(ns.writer and ns.read) -}}
{%- endmacro %}

{#- Whether the input `name` (`relation`) has fingerprints kept to read (a first build may not have made them). -#}
{% macro keeps_service_fingerprints(name, relation) -%}
    {%- if not maintains_service_fingerprints(name) -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set kept = relation_beside('service_fingerprints', relation) -%}
    {{- return(adapter.get_relation(kept.database, kept.schema, kept.identifier) is not none) -}}
{%- endmacro %}

{#- An input's columns, names and types in order, as a SQL string literal. -#}
{% macro input_columns(relation) -%}
    {%- if execute is not sameas true -%}
        {{- return("''") -}}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do columns.append(column.name ~ ' ' ~ column.dtype) -%}
    {%- endfor -%}
    {{- return("'" ~ columns | join(', ') | replace("'", "''") ~ "'") -}}
{%- endmacro %}

{#- The table of the fingerprints the running model keeps, made if missing (a table built before it kept any). -#}
{% macro kept_service_fingerprints() -%}
    {%- set kept = relation_beside('service_fingerprints') -%}
    {%- do run_query('create table if not exists ' ~ kept ~ ' (service varchar, fingerprint hugeint)') -%}
    {{- return(kept) -}}
{%- endmacro %}

{#- The fingerprints a table keeps are forgotten for the services whose rows it rewrites, twice: before (the rows it
    deletes) and after (the rows it wrote), each by a condition on the table's rows (`rows`: none for all of them);
    then the services left without one are fingerprinted again. `services`: the condition is on the service alone,
    so it applies to the fingerprints' table as it is (a subquery of the table's rows costs up to 1.5 s a model). -#}
{% macro forget_service_fingerprints(rows=none, services=false) -%}
    {%- set kept = kept_service_fingerprints() -%}
    {%- if rows is none -%}
        delete from {{ kept }}
    {%- elif services -%}
        delete from {{ kept }} where {{ rows }}
    {%- else -%}
        delete from {{ kept }} where service in (select service from {{ this }} where {{ rows }})
    {%- endif -%}
{%- endmacro %}

{#- Post-hook part: forget the fingerprints of the rows written (`rows`, as above; '' for none), then fingerprint the
    services that have rows and no fingerprint. -#}
{% macro fill_service_fingerprints(rows='') -%}
    {%- set kept = kept_service_fingerprints() -%}
    {%- if rows is none or rows -%}
        {%- do run_query(forget_service_fingerprints(rows)) -%}
    {%- endif -%}
    insert into {{ kept }}
    select
        table_rows.service,
        sum(hash(table_rows)::hugeint) as fingerprint
    from {{ this }} as table_rows
    where table_rows.service is not null and table_rows.service not in (select kept.service from {{ kept }} as kept)
    group by table_rows.service
{%- endmacro %}

{#- Post-hook part: keep the running model's services' fingerprints for the models that read them (`rows`: the rows
    it wrote, as in fill_service_fingerprints), or drop them: none kept rather than some out of date, should a model
    come to read them. -#}
{% macro remember_own_service_fingerprints(rows='') -%}
    {%- if maintains_service_fingerprints(model.name) -%}
        {%- do run_query(fill_service_fingerprints(rows)) -%}
    {%- else -%}
        {%- do run_query('drop table if exists ' ~ relation_beside('service_fingerprints')) -%}
    {%- endif -%}
{%- endmacro %}

{#- The model's meta (its declared inputs); a linter's template has no model: it lints one input. -#}
{% macro by_service_meta() -%}
    {%- set meta = model.config.meta if model is defined else {'service_inputs': ['an_input']} -%}
    {%- for name in meta.get('as_of_columns', {}) if name not in meta.service_inputs -%}
        {%- do exceptions.raise_compiler_error(
            'meta.as_of_columns names ' ~ name ~ ', which is not one of meta.service_inputs'
        ) -%}
    {%- endfor -%}
    {{- return(meta) -}}
{%- endmacro %}

{#- The model's inputs (meta.service_inputs) as relations, by name. -#}
{% macro service_inputs() -%}
    {%- set inputs = {} -%}
    {%- for name in by_service_meta().service_inputs -%}
        {%- do inputs.update({name: ref(name)}) -%}
    {%- endfor -%}
    {{- return(inputs) -}}
{%- endmacro %}

{#- One row per service: the fingerprint of its input rows, every input's combined (an input's own when it keeps
    them, else the sum of its rows' hashes), and for an input read before the as-of time, how many rows count. -#}
{% macro service_fingerprints() -%}
    {%- set as_of_columns = by_service_meta().get('as_of_columns', {}) -%}
    select
        service,
        sum(fingerprint) as fingerprint
    from (
        {%- for name, input in service_inputs().items() %}
        {%- set columns = input_columns(input) %}
        {%- if keeps_service_fingerprints(name, input) %}
        select
            kept.service,
            hash(version(), '{{ name }}', {{ columns }}, kept.fingerprint)::hugeint as fingerprint
        from {{ relation_beside('service_fingerprints', input) }} as kept
        {%- else %}
        select
            input_rows.service,
            hash(version(), '{{ name }}', {{ columns }}, sum(hash(input_rows)::hugeint))::hugeint as fingerprint
        from {{ input }} as input_rows
        where input_rows.service is not null
        group by input_rows.service
        {%- endif %}
        {%- if name in as_of_columns %}
        union all
        select
            input_rows.service,
            hash(version(), '{{ name }} before as_of', count(*))::hugeint as fingerprint
        from {{ input }} as input_rows
        where
            input_rows.service is not null
            and input_rows.{{ as_of_columns[name] }} < (select as_of_at from {{ ref('int_run_parameters') }})
        group by input_rows.service
        {%- endif %}
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
    {%- set stored = relation_beside('service_inputs') -%}
    {%- if adapter.get_relation(stored.database, stored.schema, stored.identifier) is none -%}
        {{- return(false) -}}
    {%- endif -%}
    {{- return(typed_by_this_code(this)) -}}
{%- endmacro %}

{#- The services whose input rows differ from those of the last build (new and gone services included). -#}
{% macro services_to_rebuild() -%}
    select coalesce(now_inputs.service, last_inputs.service) as service
    from ({{ service_fingerprints() }}) as now_inputs
    full outer join {{ relation_beside('service_inputs') }} as last_inputs
        on now_inputs.service = last_inputs.service
    where now_inputs.fingerprint is distinct from last_inputs.fingerprint
{%- endmacro %}

{#- The first of the model's CTEs when it rebuilds some services only: which ones (worked out once a build). -#}
{% macro services_to_rebuild_cte() -%}
    {%- if rebuilds_some_services() -%}
        services_to_rebuild as materialized ({{ services_to_rebuild() }}),
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

{#- Pre-hook: forget the fingerprints of the rows the model is about to select again, then delete them. On an
    incremental run that cannot rebuild some services only (its code changed, its fingerprints are missing), that
    is every row. -#}
{% macro delete_services_to_rebuild() -%}
    {%- if execute and this is not none -%}
        {%- set some = rebuilds_some_services() -%}
        {%- set rows = 'service in (' ~ services_to_rebuild() ~ ')' if some else none -%}
        {%- if is_incremental() -%}
            {%- if maintains_service_fingerprints(model.name) -%}
                {%- do run_query(forget_service_fingerprints(rows, services=true)) -%}
            {%- endif -%}
            delete from {{ this }}{% if some %} where {{ rows }}{% endif %}
        {%- else -%}
            drop table if exists {{ relation_beside('service_fingerprints') }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: fingerprint the services the model rewrote (when a model reads them), and remember the fingerprints
    of the inputs this build read, for the next run to compare with. -#}
{% macro remember_service_inputs() -%}
    {%- do remember_own_service_fingerprints() -%}
    create or replace table {{ relation_beside('service_inputs') }} as {{ service_fingerprints() }}
{%- endmacro %}
