{#- The grain of a model in one test (one query): the column is never null and never repeated. -#}
{% test primary_key(model, column_name) %}

select
    {{ column_name }} as key_value,
    count(*) as n_rows
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1

{% endtest %}
