-- The first-parent chain of each service's mainline, numbered from its oldest commit, whatever code host holds it.
-- Ancestry on this chain is what "a deployment contains a change" means: a chain commit at position p is in
-- every deployed chain commit at position >= p, whatever the commits' dates say.
-- Branch commits of merge commits are among the mainline's commits but not on the chain (they hang off parent 2).
-- The walk steps from commit to first parent by integer ids, each commit's first parent looked up once before it
-- starts: at 1,000 services (1,216 steps) it needs 80-100MB of DuckDB's memory, where a walk on (service, sha)
-- strings needed 200-256MB and could fail while another model built beside it. Authors and messages join once,
-- at the end.
-- Each service's rows come from its own commits alone, so a daily run walks again only the services whose commits
-- changed (macros/incremental_by_service.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        meta={'service_inputs': ['int_mainline_commits_unioned']},
        pre_hook="{{ delete_services_to_rebuild() }}",
        post_hook="{{ remember_service_inputs() }}",
    )
}}
{%- set mainline_commits = for_services_to_rebuild(ref('int_mainline_commits_unioned')) %}

with recursive

{{ services_to_rebuild_cte() }}

-- any numbering will do, the ids never leave this model; computed once (materialized), so every reference below
-- sees the same ids
service_commits as materialized (

    select
        row_number() over () as commit_id,
        service,
        sha,
        committed_at,
        parent_shas
    from {{ mainline_commits }}

),

-- a first parent outside the mainline's commits (a shallow history) ends the chain, as a missing one does
first_parents as (

    select
        service_commits.commit_id,
        parents.commit_id as first_parent_id
    from service_commits
    left join service_commits as parents
        on
            service_commits.service = parents.service
            and service_commits.parent_shas[1] = parents.sha

),

parent_links as (

    select distinct
        service,
        unnest(parent_shas) as parent_sha
    from service_commits

),

-- the branch head: the newest commit that no other commit names as a parent
-- (commits orphaned by a force-push also have no child; the newest one is the live head)
heads as (

    select service_commits.commit_id
    from service_commits
    left join parent_links
        on
            service_commits.service = parent_links.service
            and service_commits.sha = parent_links.parent_sha
    where parent_links.parent_sha is null
    qualify row_number() over (
        partition by service_commits.service
        order by service_commits.committed_at desc, service_commits.sha desc
    ) = 1

),

chain (head_id, commit_id, first_parent_id, chain_depth) as (

    select
        heads.commit_id as head_id,
        first_parents.commit_id,
        first_parents.first_parent_id,
        0 as chain_depth
    from heads
    inner join first_parents
        on heads.commit_id = first_parents.commit_id

    union all

    select
        chain.head_id,
        first_parents.commit_id,
        first_parents.first_parent_id,
        chain.chain_depth + 1 as chain_depth
    from chain
    inner join first_parents
        on chain.first_parent_id = first_parents.commit_id

),

-- 1 = the oldest commit reached; the head has the highest position (one head, so one chain, per service)
positioned as (

    select
        service_commits.service,
        service_commits.sha,
        max(chain.chain_depth) over (partition by chain.head_id) - chain.chain_depth + 1 as mainline_position
    from chain
    inner join service_commits
        on chain.commit_id = service_commits.commit_id

)

select
    positioned.service,
    mainline_commits.source,
    mainline_commits.repo,
    positioned.sha,
    positioned.mainline_position,
    mainline_commits.parent_shas[1] as first_parent_sha,
    len(mainline_commits.parent_shas) as n_parents,
    len(mainline_commits.parent_shas) > 1 as is_merge_commit,
    mainline_commits.author_name,
    mainline_commits.author_email,
    mainline_commits.authored_at,
    mainline_commits.committed_at,
    mainline_commits.message
from positioned
inner join {{ mainline_commits }} as mainline_commits
    on
        positioned.service = mainline_commits.service
        and positioned.sha = mainline_commits.sha
