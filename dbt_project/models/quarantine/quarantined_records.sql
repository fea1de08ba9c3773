-- Records that break a rule, with the reason and the source record: the marts leave them out (or keep them
-- flagged), this table keeps them in sight. One row per record and reason. No rule names a source:
--   record-level rules apply to every raw table of every registered stream, from its declaration (stg_catalog__streams:
--   the primary key; the timestamps that must parse, checked once per record by int_raw_timestamp_checks);
--   event rules apply to the contract models of each event kind, whatever source conforms to them.
-- depends_on: {{ ref('stg_catalog__streams') }}
{%- set raw_tables = declared_raw_tables() | list %}
with

raw_keys as (

    -- identifiers only: the rules below read no payload, so a run does not scan every raw record's JSON
    select
        cast(null as varchar) as source_table,
        cast(null as varchar) as _pk,
        cast(null as varchar) as _sync_id
    where false
    {%- for raw_table in raw_tables %}

    union all

    select
        '{{ raw_table }}' as source_table,
        _pk,
        _sync_id
    from {{ raw_table }}
    where _pk like 'nokey:%' or _pk like 'conflict:%' or _pk in (
        select {{ conflict_of('_pk') }} from {{ raw_table }} where _pk like 'conflict:%'
    )
    {%- endfor %}

),

timestamp_checks as (

    select * from {{ ref('int_raw_timestamp_checks') }}

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
    from raw_keys
    where _pk like 'nokey:%'

    union all

    -- two versions of one record in the same sync, with the same version stamp and different content: the source
    -- cannot say which is right, so both are listed here and neither is typed (accepted_records)
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
        from raw_keys as conflicting
        inner join raw_keys as kept
            on
                conflicting.source_table = kept.source_table
                and {{ conflict_of('conflicting._pk') }} = kept._pk
                and conflicting._sync_id = kept._sync_id
        where conflicting._pk like 'conflict:%'
    ) as conflict_pairs

    union all

    -- a declared timestamp of the stream that is there but that staging cannot parse
    select
        timestamp_checks.source_table,
        timestamp_checks.record_id,
        'unparsable_timestamp' as reason,
        unnest(timestamp_checks.unparsable_fields) as detail
    from timestamp_checks
    where len(timestamp_checks.unparsable_fields) > 0

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

),

source_records as (

    -- the payload of the quarantined records only
    select
        cast(null as varchar) as source_table,
        cast(null as varchar) as _pk,
        cast(null as json) as payload
    where false
    {%- for raw_table in raw_tables %}

    union all

    select
        '{{ raw_table }}' as source_table,
        _pk,
        payload
    from {{ raw_table }}
    where _pk in (select issues.record_id from issues where issues.source_table = '{{ raw_table }}')
    {%- endfor %}

)

select
    issues.source_table || ':' || issues.record_id || ':' || issues.reason as quarantined_record_id,
    issues.source_table,
    issues.record_id,
    issues.reason,
    issues.detail,
    source_records.payload as source_record
from issues
left join source_records
    on
        issues.source_table = source_records.source_table
        and issues.record_id = source_records._pk
