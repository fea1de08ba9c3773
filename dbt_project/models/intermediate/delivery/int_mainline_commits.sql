-- The first-parent chain of each service's mainline, numbered from its oldest commit, whatever code host holds it.
-- Ancestry on this chain is what "a deployment contains a change" means: a chain commit at position p is in
-- every deployed chain commit at position >= p, whatever the commits' dates say.
-- Branch commits of merge commits are among the mainline's commits but not on the chain (they hang off parent 2).
with recursive

service_commits as (

    select
        *,
        parent_shas[1] as first_parent_sha,
        len(parent_shas) as n_parents
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

)

select
    chain.service,
    service_commits.source,
    service_commits.repo,
    chain.sha,
    -- 1 = the oldest commit reached; the head has the highest position
    max(chain.chain_depth) over (partition by chain.service) - chain.chain_depth + 1 as mainline_position,
    chain.first_parent_sha,
    service_commits.n_parents,
    service_commits.n_parents > 1 as is_merge_commit,
    service_commits.author_name,
    service_commits.author_email,
    service_commits.authored_at,
    service_commits.committed_at,
    service_commits.message
from chain
inner join service_commits
    on
        chain.service = service_commits.service
        and chain.sha = service_commits.sha
