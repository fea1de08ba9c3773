-- Records that break a rule, with the reason and the source record: the marts leave them out (or keep them
-- flagged), this table keeps them in sight. One row per record and reason.
{%- set raw_streams = [
    ('github', 'deployments'),
    ('github', 'deployment_statuses'),
    ('github', 'pull_requests'),
    ('github', 'pull_commits'),
    ('github', 'commits'),
    ('pagerduty', 'incidents'),
    ('pagerduty', 'log_entries'),
    ('jira', 'reviews'),
    ('jira', 'actions'),
    ('opsgenie', 'alerts'),
    ('opsgenie', 'incidents'),
] %}
with

raw_records as (
    {% for source_name, table_name in raw_streams %}
        select
            'raw_{{ source_name }}.{{ table_name }}' as source_table,
            _pk,
            _sync_id,
            payload
        from {{ source(source_name, table_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

deployments as (

    select * from {{ ref('stg_github__deployments') }}

),

deployment_statuses as (

    select * from {{ ref('stg_github__deployment_statuses') }}

),

incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

log_entries as (

    select * from {{ ref('stg_pagerduty__log_entries') }}

),

reviews as (

    select * from {{ ref('stg_jira__reviews') }}

),

actions as (

    select * from {{ ref('stg_jira__actions') }}

),

services as (

    select * from {{ ref('int_services') }}

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

    union all

    select
        'raw_github.deployments' as source_table,
        cast(deployments.deployment_id as varchar) as record_id,
        'deployment_of_unknown_repo' as reason,
        deployments.repo as detail
    from deployments
    left join services
        on deployments.repo = services.github_repo
    where services.service is null

    union all

    select
        'raw_github.deployments' as source_table,
        cast(deployment_id as varchar) as record_id,
        'unparsable_timestamp' as reason,
        'created_at' as detail
    from deployments
    where created_at is null

    union all

    select
        'raw_github.deployment_statuses' as source_table,
        cast(deployment_status_id as varchar) as record_id,
        'unparsable_timestamp' as reason,
        'created_at' as detail
    from deployment_statuses
    where created_at is null

    union all

    select
        'raw_pagerduty.incidents' as source_table,
        incidents.incident_id as record_id,
        'incident_of_unknown_service' as reason,
        incidents.pagerduty_service_id as detail
    from incidents
    left join services
        on incidents.pagerduty_service_id = services.pagerduty_service_id
    where services.service is null

    union all

    select
        'raw_pagerduty.incidents' as source_table,
        incident_id as record_id,
        'unparsable_timestamp' as reason,
        'created_at' as detail
    from incidents
    where triggered_at is null

    union all

    select
        'raw_pagerduty.incidents' as source_table,
        incident_id as record_id,
        'resolved_before_triggered' as reason,
        cast(resolved_at as varchar) as detail
    from service_incidents
    where has_invalid_timeline

    union all

    select
        'raw_pagerduty.log_entries' as source_table,
        log_entry_id as record_id,
        'unparsable_timestamp' as reason,
        'created_at' as detail
    from log_entries
    where created_at is null

    union all

    select
        'raw_jira.reviews' as source_table,
        review_id as record_id,
        'unparsable_timestamp' as reason,
        'fields.created' as detail
    from reviews
    where created_at is null

    union all

    select
        'raw_jira.reviews' as source_table,
        review_id as record_id,
        'review_without_known_incident' as reason,
        incident_reference as detail
    from service_reviews
    where incident_id is null

    union all

    select
        'raw_jira.actions' as source_table,
        action_id as record_id,
        'unparsable_timestamp' as reason,
        'fields.created' as detail
    from actions
    where created_at is null

    union all

    select
        'raw_jira.actions' as source_table,
        action_id as record_id,
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
