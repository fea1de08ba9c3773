{#-
    The grain of a model over several columns in one test: no two rows share their values, and none is null, except
    in the columns listed in `nullable` (a null there is a value like any other: two rows with the same other values
    and both null are still a duplicate).
-#}
{% test unique_combination(model, columns, nullable=[]) %}
    {%- set required = columns | reject('in', nullable) | list %}

select
    {{ columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
    {%- if required %} or {{ required | join(' is null or ') }} is null{% endif %}

{% endtest %}
