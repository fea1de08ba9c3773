with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('jira', 'reviews') }}

),

renamed as (

    select
        payload ->> '$.id' as review_id,
        payload ->> '$.key' as review_key,
        payload ->> '$.fields.project.key' as project_key,
        payload ->> '$.fields.issuetype.name' as issue_type,
        payload ->> '$.fields.status.name' as workflow_status,
        payload ->> '$.fields.summary' as issue_summary,
        json_extract_string(payload, '$.fields.labels[*]') as labels,
        {{ to_utc_timestamp("payload ->> '$.fields.created'") }} as created_at,
        -- a review is published when it is resolved; null while in draft
        {{ to_utc_timestamp("payload ->> '$.fields.resolutiondate'") }} as published_at,
        -- which field names the incident is a setting (raw_catalog.settings), resolved in int_incident_reviews
        payload -> '$.fields' as fields_json
    from source

)

select * from renamed
