-- One row per change: a merged pull or merge request (merge, squash or rebase merge) or a direct push to the
-- mainline, from whichever code host holds the service. A change sits on the mainline at the position of its last
-- mainline commit: the merge commit, the squash commit, or the last rebased commit (the request's mainline_sha in all
-- three cases).
-- The inputs are read where they are used, not copied: DuckDB materializes a CTE named more than once, and copies
-- of the mainline's and the requests' commits (messages included) made this model fail at 256MB of DuckDB's memory
-- at 1,000 services; read in place it builds within 128MB, in about two thirds of the time.
-- Each service's rows come from its own requests, commits and mainline alone (every join is on the service), so a
-- daily run rebuilds only the services whose inputs changed, or that have a request merged or a commit pushed
-- between the last run's as-of time and this one's (macros/incremental_by_service.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        meta={
            'service_inputs': ['int_mainline_commits', 'int_changes_unioned', 'int_change_commits_unioned'],
            'as_of_columns': {'int_mainline_commits': 'committed_at', 'int_changes_unioned': 'merged_at'},
        },
        pre_hook="{{ delete_services_to_rebuild() }}",
        post_hook="{{ remember_service_inputs() }}",
    )
}}

with

{{ services_to_rebuild_cte() }}

mainline as not materialized (

    select * from {{ for_services_to_rebuild(ref('int_mainline_commits')) }}

),

requests as not materialized (

    select * from {{ for_services_to_rebuild(ref('int_changes_unioned')) }}

),

request_commits as not materialized (

    select * from {{ for_services_to_rebuild(ref('int_change_commits_unioned')) }}

),

run_parameters as not materialized (

    select * from {{ ref('int_run_parameters') }}

),

merged_requests as (

    select
        requests.*,
        mainline.mainline_position,
        mainline.is_merge_commit as merged_by_merge_commit
    from requests
    cross join run_parameters
    left join mainline
        on
            requests.service = mainline.service
            and requests.mainline_sha = mainline.sha
    where
        requests.merged_at < run_parameters.as_of_at
        and requests.targets_mainline

),

-- a rebase merge re-creates each branch commit on the mainline with the same author, author date and message
-- (a fast-forward keeps the very same commit); two equi-joins find the candidates (an OR would defeat hash joins)
commit_matches as (

    select
        request_commits.service,
        request_commits.change_number,
        request_commits.sha as request_commit_sha,
        mainline.sha as mainline_sha,
        mainline.mainline_position
    from request_commits
    inner join mainline
        on
            request_commits.service = mainline.service
            and request_commits.sha = mainline.sha

    union

    select
        request_commits.service,
        request_commits.change_number,
        request_commits.sha as request_commit_sha,
        mainline.sha as mainline_sha,
        mainline.mainline_position
    from request_commits
    inner join mainline
        on
            request_commits.service = mainline.service
            and request_commits.authored_at = mainline.authored_at
            and request_commits.message = mainline.message
            and coalesce(request_commits.author_email, '') = coalesce(mainline.author_email, '')

),

-- each request commit belongs to the latest matching mainline commit at or before the request's mainline commit
rebased_commits as (

    select
        commit_matches.service,
        commit_matches.change_number,
        commit_matches.request_commit_sha,
        commit_matches.mainline_sha
    from commit_matches
    inner join merged_requests
        on
            commit_matches.service = merged_requests.service
            and commit_matches.change_number = merged_requests.change_number
    where commit_matches.mainline_position <= merged_requests.mainline_position
    qualify row_number() over (
        partition by commit_matches.service, commit_matches.change_number, commit_matches.request_commit_sha
        order by commit_matches.mainline_position desc
    ) = 1

),

-- every mainline commit that belongs to a request; the others are direct pushes
request_mainline_commits as (

    select
        service,
        mainline_sha
    from merged_requests
    where mainline_position is not null

    union

    select
        service,
        mainline_sha
    from rebased_commits

),

request_commit_summary as (

    select
        service,
        change_number,
        min(authored_at) as first_authored_at,
        count(*) as n_commits
    from request_commits
    group by service, change_number

),

rebase_summary as (

    select
        service,
        change_number,
        count(*) as n_rebased_commits
    from rebased_commits
    group by service, change_number

),

request_changes as (

    select
        merged_requests.change_id,
        merged_requests.source,
        merged_requests.service,
        merged_requests.repo,
        case
            when merged_requests.mainline_position is null then 'unknown'
            when merged_requests.merged_by_merge_commit then 'merge'
            when rebase_summary.n_rebased_commits > 0 then 'rebase'
            else 'squash'
        end as change_type,
        merged_requests.change_number as pull_request_number,
        merged_requests.title,
        merged_requests.mainline_sha,
        merged_requests.mainline_position,
        merged_requests.merged_at,
        -- the earliest author date of the change's commits; the mainline commit's when the branch is unknown
        coalesce(
            request_commit_summary.first_authored_at,
            mainline.authored_at,
            merged_requests.created_at
        ) as first_commit_at,
        coalesce(request_commit_summary.n_commits, 1) as n_commits
    from merged_requests
    left join request_commit_summary
        on
            merged_requests.service = request_commit_summary.service
            and merged_requests.change_number = request_commit_summary.change_number
    left join rebase_summary
        on
            merged_requests.service = rebase_summary.service
            and merged_requests.change_number = rebase_summary.change_number
    left join mainline
        on
            merged_requests.service = mainline.service
            and merged_requests.mainline_sha = mainline.sha

),

direct_pushes as (

    select
        mainline.repo || '@' || mainline.sha as change_id,
        mainline.source,
        mainline.service,
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
    cross join run_parameters
    left join request_mainline_commits
        on
            mainline.service = request_mainline_commits.service
            and mainline.sha = request_mainline_commits.mainline_sha
    where
        request_mainline_commits.mainline_sha is null
        and mainline.committed_at < run_parameters.as_of_at

)

select * from request_changes
union all
select * from direct_pushes
