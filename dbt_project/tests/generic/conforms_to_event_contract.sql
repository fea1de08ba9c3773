{#-
    A staging model conforms to its event kind's contract (macros/event_contracts.sql): it has every column of the
    contract with the contract's type. One failing row per missing or mistyped column.
    The columns are described when the test runs, not introspected while it compiles: the daily run
    compiles its data tests with the manifest and runs their SQL after the build (orchestration/dbt/data_tests.py).
-#}
{% test conforms_to_event_contract(model, kind) %}

with contract as (
    select *
    from (values {{ event_contract_rows(kind) }}) as contract (column_name, expected_type)
),

actual as (
    -- describe, as dbt-duckdb's introspection does: a view's types as they are now, not as it was created with
    select
        lower(column_name) as column_name,
        lower(column_type) as actual_type
    from (describe {{ model }})
)

select
    contract.column_name,
    contract.expected_type,
    coalesce(actual.actual_type, 'missing') as actual_type
from contract
left join actual on contract.column_name = actual.column_name
where coalesce(actual.actual_type, 'missing') <> contract.expected_type

{% endtest %}
