{#-
    Base models type raw records incrementally. A raw table is only ever upserted on `_pk`: a record delivered
    again with other content is rewritten with a new `_loaded_at` (delivered exactly as stored, it keeps its row and
    `_loaded_at`, taking the sync's `_sync_id`, unless a conflict is involved: orchestration/warehouse.py), and no
    row is deleted. So typing the records loaded since the last run and replacing the base model's rows on
    `record_id` (delete+insert) gives the table that typing every record would: a daily run parses a day of JSON,
    not the whole history.

    Rows typed by other code are not kept: when a base model's code (its SQL, the project's macros, dbt's version)
    differs from the code that last built it, the next run types every record again. The code's digest is the
    table's comment.
-#}

{#- The raw records a base model has yet to type: every record on its first run, after a code change or with
    `--full-refresh`; else those loaded after the latest it has typed. -#}
{% macro raw_records_to_type(source_name, table_name) -%}
    select * from {{ source(source_name, table_name) }}
    {%- if is_incremental() and typed_by_this_code(this) %}
    where _loaded_at > (select coalesce(max(_loaded_at), '-infinity'::timestamptz) from {{ this }})
    {%- endif %}
{%- endmacro %}

{#- Whether `relation` was last built by the code now running (its comment holds the code's digest). -#}
{% macro typed_by_this_code(relation) -%}
    {#- a linter's template has no warehouse to ask: it lints the incremental branch -#}
    {%- if execute is not sameas true -%}
        {{- return(true) -}}
    {%- endif -%}
    {{- return(stored_comment(relation) == code_digest()) -}}
{%- endmacro %}

{#- The comment on a table of the warehouse: what an incremental model keeps of the run that built it ('' if none). -#}
{% macro stored_comment(relation) -%}
    {%- set stored = run_query(
        "select comment from duckdb_tables() where database_name = '" ~ relation.database
        ~ "' and schema_name = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'"
    ) -%}
    {{- return((stored.rows[0][0] if stored.rows | length == 1 else none) or '') -}}
{%- endmacro %}

{#- An MD5 of the running model's SQL, of every macro of this project and of dbt's version (for dbt's own macros;
    an upgrade of dbt-duckdb or DuckDB alone needs `--full-refresh`). Every macro, not only those the model calls:
    dbt lists a model's macros as its parse found them, and one called only in a branch the parse did not take
    (`typed_by_this_code` behind `is_incremental()`) joins the list during the run, so the model and its post-hook
    would hash different lists. The price: any macro's change types every record again, once. -#}
{% macro code_digest() -%}
    {{- return(local_md5(([model.raw_code] + project_code()) | join('\n'))) -}}
{%- endmacro %}

{#- dbt's version and the code of every macro of this project, by name. dbt's `graph` has no macros: they are read
    from the project's namespace. -#}
{% macro project_code() -%}
    {%- set code = ['dbt ' ~ dbt_version] -%}
    {%- for name in opmetrics.keys() | sort -%}
        {%- do code.append(opmetrics[name].macro.macro_sql) -%}
    {%- endfor -%}
    {{- return(code) -}}
{%- endmacro %}

{#- Post-hook of every model: an incremental model or a view remembers the digest of the code that built it (a union
    of an event kind, also what it has read: macros/incremental_union.sql, which reads the views' too). -#}
{% macro remember_code_digest() -%}
    {%- if model.config.meta.get('event_kind') -%}
        {%- do remember_union_service_fingerprints(model.config.meta.event_kind) -%}
        comment on table {{ this }} is '{{ event_union_comment(model.config.meta.event_kind) }}'
    {%- elif model.config.materialized in ('incremental', 'view') -%}
        comment on {{ 'view' if model.config.materialized == 'view' else 'table' }} {{ this }} is '{{ code_digest() }}'
    {%- endif -%}
{%- endmacro %}

{#-
    The typed records of a base model that staging may conform: all but those quarantined whole (quarantined_records).

    Left out: a record that arrived without its identifier (landed under a `nokey:` surrogate key), a version that
    conflicted with another in the same sync (landed under `conflict:<_pk>:<digest>`), and the version it conflicted
    with, as long as that sync's version is the current one (a later sync's update settles the conflict).
-#}
{% macro accepted_records(base_model) -%}
    select record.* exclude (_sync_id, _loaded_at)
    from {{ base_model }} as record
    where
        record.record_id not like 'nokey:%'
        and record.record_id not like 'conflict:%'
        and not exists (
            select 1
            from {{ base_model }} as conflicting
            where
                conflicting.record_id like 'conflict:%'
                and {{ conflict_of('conflicting.record_id') }} = record.record_id
                and conflicting._sync_id = record._sync_id
        )
{%- endmacro %}

{#- The `_pk` of the record a `conflict:<_pk>:<digest>` version conflicted with. -#}
{% macro conflict_of(pk) -%}
    regexp_extract({{ pk }}, '^conflict:(.*):[0-9a-f]{12}$', 1)
{%- endmacro %}

{#-
    Several text fields of a JSON column as one struct, parsing the JSON once: each `->>` parses the whole document
    again, and a backfill types millions of them. A field is named by its path, dots as underscores and lowercase:
    `json_fields('payload', ['$.sha', '$.commit.author.date'])` has `sha` and `commit_author_date`.
-#}
{% macro json_fields(column, paths) -%}
    {%- set path_list -%}
        [{% for path in paths %}'{{ path }}'{{ ", " if not loop.last }}{% endfor %}]
    {%- endset -%}
    {%- set fields -%}
        {%- for path in paths %}'{{ path[2:] | replace('.', '_') | lower }}': f[{{ loop.index }}]{{ ", " if not loop.last }}
        {%- endfor -%}
    {%- endset -%}
    list_transform([json_extract_string({{ column }}, {{ path_list }})], lambda f: { {{- fields -}} })[1]
{%- endmacro %}
