{{ config(materialized='incremental', unique_key=['source_table', 'record_id']) }}
-- Every raw record's declared timestamps (stg_catalog__streams), checked once: one row per record with the fields
-- that are there but do not parse (usually none). quarantined_records lists the records with any.
-- Incremental per raw table: a run checks the records loaded since the last, or every record of a table whose
-- declared fields changed (checked_fields), or all after a change of this code (macros/incremental_raw.sql).
-- depends_on: {{ ref('stg_catalog__streams') }}
{%- set declared = declared_raw_tables() -%}
{%- set incremental = is_incremental() and typed_by_this_code(this) %}
select
    cast(null as varchar) as source_table,
    cast(null as varchar) as record_id,
    cast(null as timestamptz) as _loaded_at,
    cast(null as varchar[]) as checked_fields,
    cast(null as varchar[]) as unparsable_fields
where false
{%- for raw_table, fields in declared.items() if fields %}
    {%- set field_list = "['" ~ fields | join("', '") ~ "']" %}

union all

select
    '{{ raw_table }}' as source_table,
    checked._pk as record_id,
    checked._loaded_at,
    {{ field_list }} as checked_fields,
    list_filter(
        [
            {%- for field in fields %}
            case
                when
                    checked.v[{{ loop.index }}] is not null
                    and {{ to_utc_timestamp('checked.v[' ~ loop.index ~ ']') }} is null
                    then '{{ field }}'
            end{{ "," if not loop.last }}
            {%- endfor %}
        ],
        lambda f: f is not null
    ) as unparsable_fields
from (
    select
        _pk,
        _loaded_at,
        json_extract_string(
            payload, [{% for field in fields %}'$.{{ field }}'{{ ", " if not loop.last }}{% endfor %}]
        ) as v
    from {{ raw_table }}
    {%- if incremental %}
    where _loaded_at > (
        select coalesce(max(_loaded_at), '-infinity'::timestamptz) from {{ this }}
        where source_table = '{{ raw_table }}' and checked_fields = {{ field_list }}
    )
    {%- endif %}
) as checked
{%- endfor %}
