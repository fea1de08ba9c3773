-- The first-parent chain of each service's mainline, numbered from its oldest commit, whatever code host holds it.
-- Ancestry on this chain is what "a deployment contains a change" means: a chain commit at position p is in
-- every deployed chain commit at position >= p, whatever the commits' dates say.
-- Branch commits of merge commits are among the mainline's commits but not on the chain (they hang off parent 2).
-- The walk reads only the commits' keys, parents and dates; their authors and messages join once, at the end: at
-- 1,000 services the walk then spills a third as much to disk.
with recursive

service_commits as (

    select
        service,
        sha,
        committed_at,
        parent_shas,
        parent_shas[1] as first_parent_sha
    from {{ ref('int_mainline_commits_unioned') }}

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

    select
        service_commits.service,
        service_commits.sha
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

chain (service, sha, first_parent_sha, chain_depth) as (

    select
        service_commits.service,
        service_commits.sha,
        service_commits.first_parent_sha,
        0 as chain_depth
    from heads
    inner join service_commits
        on
            heads.service = service_commits.service
            and heads.sha = service_commits.sha

    union all

    select
        service_commits.service,
        service_commits.sha,
        service_commits.first_parent_sha,
        chain.chain_depth + 1 as chain_depth
    from chain
    inner join service_commits
        on
            chain.service = service_commits.service
            and chain.first_parent_sha = service_commits.sha

),

positioned as (

    select
        service,
        sha,
        first_parent_sha,
        -- 1 = the oldest commit reached; the head has the highest position
        max(chain_depth) over (partition by service) - chain_depth + 1 as mainline_position
    from chain

)

select
    positioned.service,
    mainline_commits.source,
    mainline_commits.repo,
    positioned.sha,
    positioned.mainline_position,
    positioned.first_parent_sha,
    len(mainline_commits.parent_shas) as n_parents,
    len(mainline_commits.parent_shas) > 1 as is_merge_commit,
    mainline_commits.author_name,
    mainline_commits.author_email,
    mainline_commits.authored_at,
    mainline_commits.committed_at,
    mainline_commits.message
from positioned
inner join {{ ref('int_mainline_commits_unioned') }} as mainline_commits
    on
        positioned.service = mainline_commits.service
        and positioned.sha = mainline_commits.sha
