{#-
    A staging model conforms to its event kind's contract (macros/event_contracts.sql): it has every column of the
    contract with the contract's type. One failing row per missing or mistyped column.
    The columns are read from the catalog when the test runs, not introspected while it compiles: the daily run
    compiles its data tests with the manifest and runs their SQL after the build (orchestration/dbt/data_tests.py).
-#}
{% test conforms_to_event_contract(model, kind) %}

with contract as (
    select *
    from (values {{ event_contract_rows(kind) }}) as contract (column_name, expected_type)
),

actual as (
    select
        lower(column_name) as column_name,
        lower(data_type) as actual_type
    from information_schema.columns
    where
        table_catalog = '{{ model.database }}'
        and table_schema = '{{ model.schema }}'
        and table_name = '{{ model.identifier }}'
)

select
    contract.column_name,
    contract.expected_type,
    coalesce(actual.actual_type, 'missing') as actual_type
from contract
left join actual on contract.column_name = actual.column_name
where coalesce(actual.actual_type, 'missing') <> contract.expected_type

{% endtest %}
