-- The first-parent chain of each service repository's mainline, numbered from its oldest commit.
-- Ancestry on this chain is what "a deployment contains a change" means: a chain commit at position p is in
-- every deployed chain commit at position >= p, whatever the commits' dates say.
-- Branch commits of merge commits are in raw_github.commits but not on the chain (they hang off parent 2).
with recursive

commits as (

    select * from {{ ref('stg_github__commits') }}

),

services as (

    select * from {{ ref('int_services') }}

),

service_commits as (

    select commits.*
    from commits
    inner join services
        on commits.repo = services.github_repo

),

parent_links as (

    select distinct
        repo,
        unnest(parent_shas) as parent_sha
    from service_commits

),

-- the branch head: the newest commit that no other commit names as a parent
-- (commits orphaned by a force-push also have no child; the newest one is the live head)
heads as (

    select
        service_commits.repo,
        service_commits.sha
    from service_commits
    left join parent_links
        on
            service_commits.repo = parent_links.repo
            and service_commits.sha = parent_links.parent_sha
    where parent_links.parent_sha is null
    qualify row_number() over (
        partition by service_commits.repo
        order by service_commits.committed_at desc, service_commits.sha desc
    ) = 1

),

chain (repo, sha, first_parent_sha, chain_depth) as (

    select
        service_commits.repo,
        service_commits.sha,
        service_commits.first_parent_sha,
        0 as chain_depth
    from heads
    inner join service_commits
        on
            heads.repo = service_commits.repo
            and heads.sha = service_commits.sha

    union all

    select
        service_commits.repo,
        service_commits.sha,
        service_commits.first_parent_sha,
        chain.chain_depth + 1 as chain_depth
    from chain
    inner join service_commits
        on
            chain.repo = service_commits.repo
            and chain.first_parent_sha = service_commits.sha

)

select
    chain.repo,
    chain.sha,
    -- 1 = the oldest commit reached; the head has the highest position
    max(chain.chain_depth) over (partition by chain.repo) - chain.chain_depth + 1 as mainline_position,
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
        chain.repo = service_commits.repo
        and chain.sha = service_commits.sha
