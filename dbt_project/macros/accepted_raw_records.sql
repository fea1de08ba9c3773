{#-
    The records of one raw table that staging may type: all but those quarantined whole (quarantined_records).

    Left out: a record that arrived without its identifier (landed under a `nokey:` surrogate key), a version that
    conflicted with another in the same sync (landed under `conflict:<_pk>:<digest>`), and the version it conflicted
    with, as long as that sync's version is the current one (a later sync's update settles the conflict).
-#}
{% macro accepted_raw_records(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    select record.*
    from {{ relation }} as record
    where
        record._pk not like 'nokey:%'
        and record._pk not like 'conflict:%'
        and not exists (
            select 1
            from {{ relation }} as conflicting
            where
                conflicting._pk like 'conflict:%'
                and {{ conflict_of('conflicting._pk') }} = record._pk
                and conflicting._sync_id = record._sync_id
        )
{%- endmacro %}

{#- The `_pk` of the record a `conflict:<_pk>:<digest>` version conflicted with. -#}
{% macro conflict_of(pk) -%}
    regexp_extract({{ pk }}, '^conflict:(.*):[0-9a-f]{12}$', 1)
{%- endmacro %}
