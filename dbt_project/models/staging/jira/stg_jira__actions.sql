with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('jira', 'actions') }}

),

renamed as (

    select
        payload ->> '$.id' as action_id,
        payload ->> '$.key' as action_key,
        payload ->> '$.fields.project.key' as project_key,
        payload ->> '$.fields.issuetype.name' as issue_type,
        payload ->> '$.fields.status.name' as workflow_status,
        payload ->> '$.fields.summary' as issue_summary,
        json_extract_string(payload, '$.fields.labels[*]') as labels,
        {{ to_utc_timestamp("payload ->> '$.fields.created'") }} as created_at,
        -- an action is completed when it is resolved; null while open
        {{ to_utc_timestamp("payload ->> '$.fields.resolutiondate'") }} as completed_at
    from source

)

select * from renamed
