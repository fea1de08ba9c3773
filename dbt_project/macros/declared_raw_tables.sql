{#-
    The raw tables of every registered stream that exist in the warehouse, each with the timestamp fields its
    declaration says must parse (stg_catalog__streams): {'raw_github.commits': ['commit.committer.date'], ...}.
    A model calling it declares `-- depends_on: {{ ref('stg_catalog__streams') }}`. Empty while a linter renders
    the model (it has no warehouse to ask).
-#}
{% macro declared_raw_tables() -%}
    {%- set declared = {} -%}
    {%- if execute is sameas true -%}
        {%- set rows = run_query(
            "select streams.raw_table, unnest(case when len(streams.timestamp_fields) = 0 then [null]"
            ~ " else streams.timestamp_fields end) as field from " ~ ref('stg_catalog__streams') ~ " as streams"
            ~ " inner join duckdb_tables() as existing"
            ~ " on streams.raw_table = existing.schema_name || '.' || existing.table_name order by 1, 2"
        ) -%}
        {%- for row in rows.rows -%}
            {%- do declared.setdefault(row[0], []) -%}
            {%- if row[1] is not none -%}
                {%- do declared[row[0]].append(row[1]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(declared) -}}
{%- endmacro %}
