with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('pagerduty', 'incidents') }}

),

renamed as (

    select
        _pk as record_id,
        payload ->> '$.id' as incident_id,
        cast(payload ->> '$.incident_number' as bigint) as incident_number,
        payload ->> '$.title' as title,
        payload ->> '$.html_url' as html_url,
        lower(payload ->> '$.status') as status,
        lower(payload ->> '$.urgency') as urgency,
        -- priority is optional in PagerDuty (null when the account has no priorities)
        payload ->> '$.priority.summary' as priority,
        payload ->> '$.service.id' as pagerduty_service_id,
        payload ->> '$.service.summary' as pagerduty_service_name,
        -- an incident is created when it triggers
        {{ to_utc_timestamp("payload ->> '$.created_at'") }} as triggered_at,
        {{ to_utc_timestamp("payload ->> '$.resolved_at'") }} as reported_resolved_at,
        {{ to_utc_timestamp("payload ->> '$.last_status_change_at'") }} as last_status_change_at,
        {{ to_utc_timestamp("payload ->> '$.updated_at'") }} as updated_at
    from source

)

select * from renamed
