-- One row per change: a merged pull request (merge, squash or rebase merge) or a direct push to the mainline.
-- A change sits on the mainline at the position of its last mainline commit: the merge commit, the squash commit,
-- or the last rebased commit (the pull request's merge_commit_sha in all three cases).
with

mainline as (

    select * from {{ ref('int_mainline_commits') }}

),

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

pull_commits as (

    select * from {{ ref('stg_github__pull_commits') }}

),

services as (

    select * from {{ ref('int_services') }}

),

run_parameters as (

    select * from {{ ref('int_run_parameters') }}

),

merged_pull_requests as (

    select
        pull_requests.*,
        services.service,
        mainline.mainline_position,
        mainline.is_merge_commit as merged_by_merge_commit
    from pull_requests
    inner join services
        on pull_requests.repo = services.github_repo
    cross join run_parameters
    left join mainline
        on
            pull_requests.repo = mainline.repo
            and pull_requests.merge_commit_sha = mainline.sha
    where
        pull_requests.merged_at < run_parameters.as_of_at
        and coalesce(pull_requests.base_ref, services.github_branch) = services.github_branch

),

-- a rebase merge re-creates each branch commit on the mainline with the same author, author date and message
-- (a fast-forward keeps the very same commit); two equi-joins find the candidates (an OR would defeat hash joins)
commit_matches as (

    select
        pull_commits.repo,
        pull_commits.pull_request_number,
        pull_commits.sha as pull_commit_sha,
        mainline.sha as mainline_sha,
        mainline.mainline_position
    from pull_commits
    inner join mainline
        on
            pull_commits.repo = mainline.repo
            and pull_commits.sha = mainline.sha

    union

    select
        pull_commits.repo,
        pull_commits.pull_request_number,
        pull_commits.sha as pull_commit_sha,
        mainline.sha as mainline_sha,
        mainline.mainline_position
    from pull_commits
    inner join mainline
        on
            pull_commits.repo = mainline.repo
            and pull_commits.authored_at = mainline.authored_at
            and pull_commits.message = mainline.message
            and coalesce(pull_commits.author_email, '') = coalesce(mainline.author_email, '')

),

-- each pull request commit belongs to the latest matching mainline commit at or before the merge_commit_sha
rebased_commits as (

    select
        commit_matches.repo,
        commit_matches.pull_request_number,
        commit_matches.pull_commit_sha,
        commit_matches.mainline_sha
    from commit_matches
    inner join merged_pull_requests
        on
            commit_matches.repo = merged_pull_requests.repo
            and commit_matches.pull_request_number = merged_pull_requests.pull_request_number
    where commit_matches.mainline_position <= merged_pull_requests.mainline_position
    qualify row_number() over (
        partition by commit_matches.repo, commit_matches.pull_request_number, commit_matches.pull_commit_sha
        order by commit_matches.mainline_position desc
    ) = 1

),

-- every mainline commit that belongs to a pull request; the others are direct pushes
pull_request_mainline_commits as (

    select
        repo,
        merge_commit_sha as mainline_sha
    from merged_pull_requests
    where mainline_position is not null

    union

    select
        repo,
        mainline_sha
    from rebased_commits

),

pull_commit_summary as (

    select
        repo,
        pull_request_number,
        min(authored_at) as first_authored_at,
        count(*) as n_commits
    from pull_commits
    group by repo, pull_request_number

),

rebase_summary as (

    select
        repo,
        pull_request_number,
        count(*) as n_rebased_commits
    from rebased_commits
    group by repo, pull_request_number

),

pull_request_changes as (

    select
        merged_pull_requests.repo || '#' || cast(merged_pull_requests.pull_request_number as varchar) as change_id,
        merged_pull_requests.service,
        merged_pull_requests.repo,
        case
            when merged_pull_requests.mainline_position is null then 'unknown'
            when merged_pull_requests.merged_by_merge_commit then 'merge'
            when rebase_summary.n_rebased_commits > 0 then 'rebase'
            else 'squash'
        end as change_type,
        merged_pull_requests.pull_request_number,
        merged_pull_requests.title,
        merged_pull_requests.merge_commit_sha as mainline_sha,
        merged_pull_requests.mainline_position,
        merged_pull_requests.merged_at,
        -- the earliest author date of the change's commits; the mainline commit's when the branch is unknown
        coalesce(
            pull_commit_summary.first_authored_at,
            mainline.authored_at,
            merged_pull_requests.created_at
        ) as first_commit_at,
        coalesce(pull_commit_summary.n_commits, 1) as n_commits
    from merged_pull_requests
    left join pull_commit_summary
        on
            merged_pull_requests.repo = pull_commit_summary.repo
            and merged_pull_requests.pull_request_number = pull_commit_summary.pull_request_number
    left join rebase_summary
        on
            merged_pull_requests.repo = rebase_summary.repo
            and merged_pull_requests.pull_request_number = rebase_summary.pull_request_number
    left join mainline
        on
            merged_pull_requests.repo = mainline.repo
            and merged_pull_requests.merge_commit_sha = mainline.sha

),

direct_pushes as (

    select
        mainline.repo || '@' || mainline.sha as change_id,
        services.service,
        mainline.repo,
        'direct_push' as change_type,
        cast(null as integer) as pull_request_number,
        split_part(mainline.message, chr(10), 1) as title,
        mainline.sha as mainline_sha,
        mainline.mainline_position,
        -- a pushed commit enters the mainline when it is committed
        mainline.committed_at as merged_at,
        mainline.authored_at as first_commit_at,
        1 as n_commits
    from mainline
    inner join services
        on mainline.repo = services.github_repo
    cross join run_parameters
    left join pull_request_mainline_commits
        on
            mainline.repo = pull_request_mainline_commits.repo
            and mainline.sha = pull_request_mainline_commits.mainline_sha
    where
        pull_request_mainline_commits.mainline_sha is null
        and mainline.committed_at < run_parameters.as_of_at

)

select * from pull_request_changes
union all
select * from direct_pushes
