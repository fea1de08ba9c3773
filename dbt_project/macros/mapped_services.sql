{#-
    The services mapped to `source_name`, one row per service with one column per mapping key (keys as the source's
    mapping model names them). For a source's staging models: how its records find their service.
-#}
{% macro mapped_services(source_name, keys) -%}
    select
        service,
    {%- for key in keys %}
            max(mapping_value) filter (where mapping_key = '{{ key }}') as {{ key | replace('.', '_') }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ ref('stg_catalog__service_mappings') }}
    where source_name = '{{ source_name }}'
    group by service
{%- endmacro %}

{#- A setting of a source (the catalog's `sources.<source>`), as text; `default` (SQL) when the catalog has none. -#}
{% macro source_setting(source_name, setting, default) -%}
    (
        select coalesce(max(value), {{ default }})
        from {{ ref('stg_catalog__source_settings') }}
        where source_name = '{{ source_name }}' and setting = '{{ setting }}'
    )
{%- endmacro %}
