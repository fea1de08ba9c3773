{#-
    True when value lies in the band row aliased `band`: between its bounds (-inf/inf or null = open),
    each bound inclusive or not as the seed says.
-#}
{% macro band_matches(value, band) -%}
    (
        ({{ band }}.lower_bound is null
            or {{ value }} > {{ band }}.lower_bound
            or ({{ band }}.lower_inclusive and {{ value }} = {{ band }}.lower_bound))
        and ({{ band }}.upper_bound is null
            or {{ value }} < {{ band }}.upper_bound
            or ({{ band }}.upper_inclusive and {{ value }} = {{ band }}.upper_bound))
    )
{%- endmacro %}
