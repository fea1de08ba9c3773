-- One row per issue link of an action: actions name their review through fields.issuelinks
with

source as (

    -- records quarantined whole (a null identifier, conflicting versions) are left out
    {{ accepted_raw_records('jira', 'actions') }}

),

links as (

    select
        source.payload ->> '$.id' as action_id,
        link.value as link
    from source,
        json_each(source.payload, '$.fields.issuelinks') as link

),

renamed as (

    select
        action_id,
        link ->> '$.id' as issue_link_id,
        link ->> '$.type.name' as link_type,
        case when link ->> '$.outwardIssue.key' is not null then 'outward' else 'inward' end as direction,
        coalesce(link ->> '$.outwardIssue.key', link ->> '$.inwardIssue.key') as linked_issue_key
    from links

)

select * from renamed
where linked_issue_key is not null
