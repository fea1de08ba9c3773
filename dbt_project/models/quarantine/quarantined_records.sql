-- Records that break a rule, with the reason and the source record: the marts leave them out (or keep them
-- flagged), this table keeps them in sight. One row per record and reason. No rule names a source:
--   record-level rules apply to every raw table of every registered stream, from its declaration (stg_catalog__streams:
--   the primary key, the timestamps that must parse);
--   event rules apply to the contract models of each event kind, whatever source conforms to them.
-- depends_on: {{ ref('stg_catalog__streams') }}
{%- set raw_tables = {} -%}
{#- `is sameas true`: only while dbt executes (a linter's template has no warehouse to ask) -#}
{%- if execute is sameas true -%}
    {#- one row per raw table and declared timestamp field (a table without any has one row with a null field) -#}
    {%- set declared = run_query(
        "select streams.raw_table, unnest(case when len(streams.timestamp_fields) = 0 then [null]"
        ~ " else streams.timestamp_fields end) as field from " ~ ref('stg_catalog__streams') ~ " as streams"
        ~ " inner join duckdb_tables() as existing"
        ~ " on streams.raw_table = existing.schema_name || '.' || existing.table_name order by 1, 2"
    ) -%}
    {%- for row in declared.rows -%}
        {%- do raw_tables.setdefault(row[0], []) -%}
        {%- if row[1] is not none -%}
            {%- do raw_tables[row[0]].append(row[1]) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}
with

raw_records as (

    select
        cast(null as varchar) as source_table,
        cast(null as varchar) as _pk,
        cast(null as varchar) as _sync_id,
        cast(null as json) as payload
    where false
    {%- for raw_table in raw_tables %}

    union all

    select
        '{{ raw_table }}' as source_table,
        _pk,
        _sync_id,
        payload
    from {{ raw_table }}
    {%- endfor %}

),

deployments as (

    select * from {{ ref('int_deployments_unioned') }}

),

incidents as (

    select * from {{ ref('int_incidents_unioned') }}

),

service_incidents as (

    select * from {{ ref('int_incidents') }}

),

service_reviews as (

    select * from {{ ref('int_incident_reviews') }}

),

service_actions as (

    select * from {{ ref('int_improvement_actions') }}

),

issues as (

    -- a record that arrived without its identifier: landed under a surrogate key, typed by no staging model
    select
        source_table,
        _pk as record_id,
        'null_identifier' as reason,
        'the primary key field is null or missing' as detail
    from raw_records
    where _pk like 'nokey:%'

    union all

    -- two versions of one record in the same sync, with the same version stamp and different content: the source
    -- cannot say which is right, so both are listed here and neither is typed (accepted_raw_records)
    select distinct
        conflict_pairs.source_table,
        unnest([conflict_pairs.conflicting_pk, conflict_pairs.kept_pk]) as record_id,
        'conflicting_duplicate' as reason,
        'two versions of ' || conflict_pairs.kept_pk || ' in sync ' || conflict_pairs.sync_id as detail
    from (
        select
            conflicting.source_table,
            conflicting._pk as conflicting_pk,
            kept._pk as kept_pk,
            kept._sync_id as sync_id
        from raw_records as conflicting
        inner join raw_records as kept
            on
                conflicting.source_table = kept.source_table
                and {{ conflict_of('conflicting._pk') }} = kept._pk
                and conflicting._sync_id = kept._sync_id
        where conflicting._pk like 'conflict:%'
    ) as conflict_pairs

    {%- for raw_table, fields in raw_tables.items() %}
        {%- for field in fields %}

    union all

    -- a declared timestamp of the stream that is there but that staging cannot parse
    select
        '{{ raw_table }}' as source_table,
        _pk as record_id,
        'unparsable_timestamp' as reason,
        '{{ field }}' as detail
    from {{ raw_table }}
    where
        payload ->> '$.{{ field }}' is not null
        and {{ to_utc_timestamp("payload ->> '$." ~ field ~ "'") }} is null
        {%- endfor %}
    {%- endfor %}

    union all

    select
        source_table,
        record_id,
        'unknown_service' as reason,
        service_key as detail
    from deployments
    where service is null

    union all

    select
        source_table,
        record_id,
        'unknown_service' as reason,
        service_key as detail
    from incidents
    where service is null

    union all

    select
        source_table,
        record_id,
        'resolved_before_triggered' as reason,
        cast(resolved_at as varchar) as detail
    from service_incidents
    where has_invalid_timeline

    union all

    select
        source_table,
        record_id,
        'review_without_known_incident' as reason,
        incident_reference as detail
    from service_reviews
    where incident_id is null

    union all

    select
        source_table,
        record_id,
        'action_without_known_review' as reason,
        action_key as detail
    from service_actions
    where review_id is null

)

select
    issues.source_table || ':' || issues.record_id || ':' || issues.reason as quarantined_record_id,
    issues.source_table,
    issues.record_id,
    issues.reason,
    issues.detail,
    raw_records.payload as source_record
from issues
left join raw_records
    on
        issues.source_table = raw_records.source_table
        and issues.record_id = raw_records._pk
