{#-
    The contract of each event kind: the columns, in order and with their types, that every source's conforming
    staging model has. Which model of which source conforms to which kind is declared once, in dbt_project.yml's
    var `event_sources`; `union_event_sources(kind)` unions them for the intermediate layer, so the delivery,
    reliability and learning models never name a source, and the generic test `conforms_to_event_contract` checks
    each conforming model against its kind.

    Every kind starts with where the row came from: `source` (the connector), `source_table` (its raw table) and
    `record_id` (the raw row's `_pk`), so quarantine can show the very record a rule rejected.
-#}
{% macro event_contracts() -%}
    {%- set origin = [('source', 'varchar'), ('source_table', 'varchar'), ('record_id', 'varchar')] -%}
    {{ return({
        'deployments': origin + [
            ('deployment_id', 'varchar'),
            ('service', 'varchar'),
            ('service_key', 'varchar'),
            ('repo', 'varchar'),
            ('sha', 'varchar'),
            ('git_ref', 'varchar'),
            ('environment', 'varchar'),
            ('is_production', 'boolean'),
            ('created_at', 'timestamp with time zone'),
        ],
        'deployment_statuses': origin + [
            ('status_id', 'varchar'),
            ('deployment_id', 'varchar'),
            ('state', 'varchar'),
            ('created_at', 'timestamp with time zone'),
        ],
        'mainline_commits': origin + [
            ('service', 'varchar'),
            ('repo', 'varchar'),
            ('branch', 'varchar'),
            ('sha', 'varchar'),
            ('parent_shas', 'varchar[]'),
            ('author_name', 'varchar'),
            ('author_email', 'varchar'),
            ('authored_at', 'timestamp with time zone'),
            ('committed_at', 'timestamp with time zone'),
            ('message', 'varchar'),
        ],
        'changes': origin + [
            ('change_id', 'varchar'),
            ('service', 'varchar'),
            ('repo', 'varchar'),
            ('change_number', 'integer'),
            ('title', 'varchar'),
            ('targets_mainline', 'boolean'),
            ('mainline_sha', 'varchar'),
            ('created_at', 'timestamp with time zone'),
            ('merged_at', 'timestamp with time zone'),
        ],
        'change_commits': origin + [
            ('service', 'varchar'),
            ('repo', 'varchar'),
            ('change_number', 'integer'),
            ('sha', 'varchar'),
            ('author_email', 'varchar'),
            ('authored_at', 'timestamp with time zone'),
            ('message', 'varchar'),
        ],
        'incidents': origin + [
            ('incident_id', 'varchar'),
            ('service', 'varchar'),
            ('service_key', 'varchar'),
            ('incident_number', 'bigint'),
            ('title', 'varchar'),
            ('html_url', 'varchar'),
            ('urgency', 'varchar'),
            ('priority', 'varchar'),
            ('triggered_at', 'timestamp with time zone'),
            ('acknowledged_at', 'timestamp with time zone'),
            ('acknowledged_by', 'varchar'),
            ('resolved_at', 'timestamp with time zone'),
        ],
        'page_responses': origin + [
            ('incident_id', 'varchar'),
            ('responder_id', 'varchar'),
            ('responder_name', 'varchar'),
            ('response', 'varchar'),
            ('responded_at', 'timestamp with time zone'),
            ('pager_team', 'varchar'),
        ],
        'responder_teams': origin + [
            ('responder_id', 'varchar'),
            ('responder_name', 'varchar'),
            ('pager_team', 'varchar'),
        ],
        'reviews': origin + [
            ('review_id', 'varchar'),
            ('review_key', 'varchar'),
            ('service', 'varchar'),
            ('incident_reference', 'varchar'),
            ('workflow_status', 'varchar'),
            ('summary', 'varchar'),
            ('created_at', 'timestamp with time zone'),
            ('published_at', 'timestamp with time zone'),
        ],
        'actions': origin + [
            ('action_id', 'varchar'),
            ('action_key', 'varchar'),
            ('service', 'varchar'),
            ('linked_keys', 'varchar[]'),
            ('workflow_status', 'varchar'),
            ('summary', 'varchar'),
            ('created_at', 'timestamp with time zone'),
            ('completed_at', 'timestamp with time zone'),
        ],
    }) }}
{%- endmacro %}

{#- The staging models that conform to `kind`, from var('event_sources'): {source: {kind: stg model suffix}}. -#}
{% macro event_models(kind) -%}
    {%- set models = [] -%}
    {%- set declared = var('event_sources') -%}
    {#- a linter that renders var() as a placeholder sees no source: the empty union of the kind -#}
    {%- if declared is not mapping -%}
        {{ return(models) }}
    {%- endif -%}
    {%- for source_name, kinds in declared.items() | sort -%}
        {%- if kind in kinds -%}
            {%- do models.append('stg_' ~ source_name ~ '__' ~ kinds[kind]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(models) }}
{%- endmacro %}

{#- Every conforming model of `kind`, its contract's columns in order and cast to their types, unioned (after an
    empty, typed row set, so a kind no source feeds yet still has its columns). Incremental: a run unions again only
    what the base models typed since the last (macros/incremental_union.sql). -#}
-- noqa: disable=LT02
{% macro union_event_sources(kind) -%}
    {%- set columns = event_contracts()[kind] %}
    {%- do config(
        materialized='incremental',
        incremental_strategy='append',
        meta={'event_kind': kind},
        pre_hook="{{ delete_event_rows_to_union('" ~ kind ~ "') }}",
    ) %}
    {%- set state = event_union_state(kind) %}
    {%- set branches = {} %}
    {%- for branch in (event_union_branches(kind) if state is not none else []) %}
        {%- do branches.update({branch.model: branch}) %}
    {%- endfor %}
    select
    {%- for name, type in columns %}
        cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
    {%- for model_name in event_models(kind) %}

    union all

    select
    {%- for name, type in columns %}
        cast({{ name }} as {{ type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ ref(model_name) }}
    {%- if state is not none %}
    where {{ event_union_rows_to_read(branches[model_name], state) }}
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
-- noqa: enable=LT02

{#- A kind's contract as SQL rows of (column name, type), for a `values` list. -#}
{% macro event_contract_rows(kind) -%}
    {%- set rows = [] -%}
    {%- for name, type in event_contracts()[kind] -%}
        {%- do rows.append("('" ~ name ~ "', '" ~ type ~ "')") -%}
    {%- endfor -%}
    {{- return(rows | join(', ')) -}}
{%- endmacro %}
