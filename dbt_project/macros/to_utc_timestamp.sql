{#-
    Parse any source timestamp to a UTC TIMESTAMPTZ, independently of the session time zone.

    Accepted (all seen in real payloads):
        2022-01-05T04:36:28Z            ISO 8601, Zulu
        2022-01-12T09:47:26.948+01:00   ISO 8601 with offset
        2021-12-23T11:26:21.000+0000    Jira: offset without colon
        2022-01-05 04:36:28 -0800       space before the offset
        2015-05-17 18:21:36 UTC         zone name UTC/GMT
        2022-01-18 05:35:35.320020      no offset: taken as UTC
        1642000000000                   epoch milliseconds (11+ digits); 9-10 digits are epoch seconds
        2024-01-01                      a bare date: midnight UTC
    Anything else gives null (raw-layer checks report unparsable timestamps).

    The wall-clock part is cast to a naive TIMESTAMP, the offset is subtracted, and timezone('UTC', ...)
    reads the result as UTC; no step depends on the session TimeZone. The common Zulu forms (GitHub, PagerDuty,
    GitLab, Opsgenie) are read first with strptime, which is several times cheaper than the general pattern: a
    backfill parses millions of them.
-#}
{% macro to_utc_timestamp(expression) -%}
    {%- set v -%} trim(cast({{ expression }} as varchar)) {%- endset -%}
    coalesce(
        timezone('UTC', try_strptime({{ v }}, ['%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%dT%H:%M:%S.%gZ'])),
        {{ to_utc_timestamp_general(v) }}
    )
{%- endmacro %}

{#- The general case of to_utc_timestamp: every format above, the offset applied by hand. -#}
{% macro to_utc_timestamp_general(v) -%}
    {#- date, then an optional time (T or space), then an optional offset or zone name -#}
    {%- set pattern = "^(\\d{4}-\\d{2}-\\d{2})"
        ~ "(?:[T ](\\d{2}:\\d{2}(?::\\d{2}(?:[.,]\\d+)?)?))?"
        ~ "\\s*(Z|z|UTC|GMT|[+-]\\d{2}(?::?\\d{2})?)?$" -%}
    {%- set parts -%} regexp_extract({{ v }}, '{{ pattern }}', ['d', 't', 'tz']) {%- endset -%}
    (case
        when {{ v }} is null or {{ v }} = '' then null
        when regexp_full_match({{ v }}, '-?\d{11,}') then make_timestamptz(cast({{ v }} as bigint) * 1000)
        when regexp_full_match({{ v }}, '-?\d{9,10}') then make_timestamptz(cast({{ v }} as bigint) * 1000000)
        when {{ parts }}.d = '' then null
        else timezone(
            'UTC',
            cast({{ parts }}.d || ' ' || coalesce(nullif(replace({{ parts }}.t, ',', '.'), ''), '00:00:00') as timestamp)
            - to_minutes(
                case
                    when {{ parts }}.tz similar to '[+-].*'
                        then
                            (case when left({{ parts }}.tz, 1) = '-' then -1 else 1 end)
                            * (
                                cast(substr({{ parts }}.tz, 2, 2) as integer) * 60
                                + coalesce(try_cast(substr(replace({{ parts }}.tz, ':', ''), 4, 2) as integer), 0)
                            )
                    else 0
                end
            )
        )
    end)
{%- endmacro %}
