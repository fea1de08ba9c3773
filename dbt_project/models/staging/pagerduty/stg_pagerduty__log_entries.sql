with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('pagerduty', 'log_entries') }}

),

renamed as (

    select
        payload ->> '$.id' as log_entry_id,
        -- list endpoints may return references (trigger_log_entry_reference); the kind is the same
        replace(payload ->> '$.type', '_reference', '') as log_entry_type,
        payload ->> '$.incident.id' as incident_id,
        payload ->> '$.agent.type' as agent_type,
        -- who acted: a user_reference for acknowledgements and manual resolves, the service for automatic ones
        payload ->> '$.agent.id' as agent_id,
        payload ->> '$.agent.summary' as agent_name,
        {{ to_utc_timestamp("payload ->> '$.created_at'") }} as created_at
    from source

)

select * from renamed
