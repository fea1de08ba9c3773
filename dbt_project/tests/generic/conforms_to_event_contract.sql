{#-
    A staging model conforms to its event kind's contract (macros/event_contracts.sql): it has every column of the
    contract with the contract's type. One failing row per missing or mistyped column.
-#}
{% test conforms_to_event_contract(model, kind) %}
    {%- set actual = {} -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(model) -%}
            {%- do actual.update({column.name | lower: column.dtype | lower}) -%}
        {%- endfor -%}
    {%- endif %}
    select *
    from (
        values
    {%- for name, type in event_contracts()[kind] %}
            ('{{ name }}', '{{ type }}', '{{ actual.get(name, "missing") }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as contract (column_name, expected_type, actual_type)
    where {{ 'actual_type <> expected_type' if execute else 'false' }}
{% endtest %}
