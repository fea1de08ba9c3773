"""GitHub's GraphQL API for the GitHub connector: the queries and the REST shape they land in (the client,
`GraphqlClient`, is shared with GitLab: `connectors/graphql.py`).

REST reads one deployment's statuses, or one pull request's commits, per request; GraphQL reads a page of 100
deployments with their statuses, or of 100 pull requests with their commits, in one query (nested connections).
Mainline commits come from the branch's `history`, 100 a page as REST's `/commits` lists 100 a request, in a sixth
of the bytes to parse, store and type (about 500 bytes a commit against the 3,017 of GitHub's REST example, which
carries its author's and committer's accounts with their URLs, its tree and its signature: staging reads none of
them).

Requests: the first page of a repository's three listings (deployments, pull requests, the branch's history) comes
in one query, `Repository`; a listing with more pages, when the reader still wants them (a newest-first listing
stops at its lower bound), continues from its cursor with a query of its own (`Deployments`, `PullRequests`,
`Commits`), and a nested connection past its first page with `DeploymentStatuses`, `PullRequestCommits` or
`CommitParents`. A later sync asks the first pages of up to `repositories_per_query` repositories (default 20) in
one query, `Repositories`, each under an alias (`repository0`, ...): a daily run, whose new records of a repository
mostly fit those first pages, makes one request per 20 repositories (three a repository before `Repository`). There
are never fewer batches than readers at once (`partitions_ahead` times the reader processes), as a batch reads its
repositories' further pages one repository after another. A repository with no cursor has a `Repository` of its
own: its first pages are whole ones (13,500 nodes at most, which keeps a batch of 30 under GitHub's 500,000 a
query), and an answer then holds one repository's backfill.

Endpoint: `POST {api_url}/graphql` for api.github.com; `https://host/api/graphql` for GitHub Enterprise Server
(`api_url` `https://host/api/v3`); the source setting `graphql_url` overrides it (same host: the token goes there).

Budget: GitHub charges each query (roughly) the number of connections it asks for, each counted once per node of
the connections it is nested in, summed over all of them, divided by 100 and rounded, at least one point, from
5,000 points an hour. Every query asks for `rateLimit { cost remaining resetAt }`; the client records the cost and,
when the points left would not cover the next query, waits until `resetAt` (through the HTTP client's `sleep`).
Pull requests list 10 commits each (`min(page_size, 10)`): 100 pull requests then cost 11 points rather than the
101 of `commits(first: 100)`, whose cost the `parents` connection of every commit drives; a longer pull request has
its commits read in a query of its own. `Repository` costs what its three listings would apart when they are pages
of 100 (1 + 100 statuses, 1 + 100 commits + 1,000 parents, 1 + 100 parents: 13 points, as 1 + 11 + 1), and less on
a later sync, whose first pages of deployments and pull requests are 10 (11 + 111 + 101 connections: 2 points, where
three queries cost at least one each).

Errors come with HTTP 200 in `errors`: `RATE_LIMITED` is waited out (the `x-ratelimit-reset` header, else the last
`resetAt`) and the query asked again; any other error fails the sync with a ConnectorError naming the query and
GitHub's message, and nothing of that answer lands, even when it carried partial data.

What lands: each node converted to the REST payload of the same record, with REST's names, time format
(`2022-01-05T04:36:28Z`: GraphQL's DateTime is the same), REST ids (`databaseId`; a deployment status has none, its
id is read from the node id), and the same primary keys, cursors and `_context` as the REST path. The subset:

- deployments: `id`, `node_id`, `url`, `sha`, `ref` (the commit's sha when the deployment was made from a commit),
  `task`, `environment`, `original_environment`, `description`, `creator.{login,type}`, `created_at`,
  `updated_at`, `statuses_url`, `repository_url`. Not `production_environment`, `transient_environment` nor
  `payload`: GraphQL has no flag of the first two (staging's `is_production_environment` is null on this path;
  the catalog decides which environment is production).
- deployment_statuses: `id`, `node_id`, `url`, `state`, `description`, `environment`, `creator.{login,type}`,
  `created_at`, `updated_at`, `deployment_url`, `repository_url`.
- pull_requests: `id`, `node_id`, `url`, `number`, `state` (`open`, `closed`), `title`, `user.{login,type}`,
  `base.{ref,sha,repo.full_name}`, `head.{ref,sha}`, `merge_commit_sha` (the merge commit, else GitHub's test merge,
  as REST), `created_at`, `updated_at`, `closed_at`, `merged_at`.
- pull_commits and commits: `sha`, `node_id`, `url`, `commit.author.{name,email,date}`,
  `commit.committer.{name,email,date}`, `commit.message`, `parents[].{sha,url}`. A branch that is not there fails
  the sync naming it (REST answers 404), unless the repository is empty (`isEmpty`: nothing pushed yet).

URLs are REST's, built from `api_url` (`{api_url}/repos/{owner}/{name}/...`). A bot's login gets REST's `[bot]`
suffix back, and a deleted author is REST's `ghost`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from connectors.http import ConnectorError

# Nested connections: a pull request lists this many commits in the page that lists it (see the module docstring).
PULL_COMMITS_NESTED = 10

_RATE_LIMIT = "rateLimit { cost remaining resetAt }"
_ACTOR = "{ __typename login }"
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
# A page of a deployment's statuses, or of a pull request's commits, listed with it or on its own.
_STATUSES_PAGE = f"{_PAGE_INFO} nodes {{ ...StatusFields }}"
_COMMITS_PAGE = f"totalCount {_PAGE_INFO} nodes {{ commit {{ ...CommitFields }} }}"

_STATUS_FIELDS = f"""
fragment StatusFields on DeploymentStatus {{
  id state description environment createdAt updatedAt creator {_ACTOR}
}}"""

COMMIT_FIELDS = """
fragment CommitFields on Commit {
  id oid authoredDate committedDate message
  author { name email }
  committer { name email }
  parents(first: 2) { totalCount nodes { oid } }
}"""


def _paged(first: str, after: bool) -> str:
    """The paging arguments of a listing: its page size from the variable named `first`, and `$after` when the query
    continues one (a first page has no cursor, and GitHub refuses a declared variable the query does not use)."""
    return f"first: ${first}, after: $after" if after else f"first: ${first}"


# The listings' selections, shared by the `Repository` query (each one's first page) and the query each listing
# continues with (`Deployments`, `PullRequests`, `Commits`): the arguments name the variables of the page sizes.


def _deployments(first: str, statuses: str, after: bool) -> str:
    """A repository's deployments, newest first, each with a page of its statuses."""
    return f"""deployments({_paged(first, after)}, orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      {_PAGE_INFO}
      nodes {{
        id databaseId commitOid environment originalEnvironment task description createdAt updatedAt
        ref {{ name }}
        creator {_ACTOR}
        statuses(first: ${statuses}) {{ {_STATUSES_PAGE} }}
      }}
    }}"""


def _pull_requests(first: str, commits: str, after: bool) -> str:
    """A repository's closed pull requests by last update, newest first, each with a page of its commits."""
    return f"""pullRequests(
      {_paged(first, after)}, states: [MERGED, CLOSED], orderBy: {{field: UPDATED_AT, direction: DESC}}
    ) {{
      {_PAGE_INFO}
      nodes {{
        id databaseId number title state createdAt updatedAt closedAt mergedAt
        baseRefName baseRefOid headRefName headRefOid
        mergeCommit {{ oid }}
        potentialMergeCommit {{ oid }}
        author {_ACTOR}
        commits(first: ${commits}) {{ {_COMMITS_PAGE} }}
      }}
    }}"""


def _history(first: str, after: bool, branch: str = "branch", since: str = "since") -> str:
    """Branch `$branch`'s history (`git log`, newest first) from `$since` (a committer date), as REST's
    `/commits?sha=&since=`; with `isEmpty` beside it, which tells an empty repository from a missing branch."""
    return f"""isEmpty
    ref(qualifiedName: ${branch}) {{
      target {{
        ... on Commit {{
          history({_paged(first, after)}, since: ${since}) {{ {_PAGE_INFO} nodes {{ ...CommitFields }} }}
        }}
      }}
    }}"""


def _first_pages(suffix: str = "") -> str:
    """The first page of every listing of a repository, from the variables named with `suffix` (its own) and the
    nested page sizes every repository of a query shares (`$statuses`, `$commits`, `$history`)."""
    return f"""repository(owner: $owner{suffix}, name: $name{suffix}) {{
    {_deployments(f"deployments{suffix}", "statuses", after=False)}
    {_pull_requests(f"pulls{suffix}", "commits", after=False)}
    {_history("history", after=False, branch=f"branch{suffix}", since=f"since{suffix}")}
  }}"""


# The first page of every listing of a repository, in one query (see the module docstring).
REPOSITORY = f"""
query Repository(
  $owner: String!, $name: String!, $deployments: Int!, $statuses: Int!, $pulls: Int!, $commits: Int!,
  $branch: String!, $history: Int!, $since: GitTimestamp
) {{
  {_RATE_LIMIT}
  {_first_pages()}
}}
{_STATUS_FIELDS}
{COMMIT_FIELDS}"""


def repositories_query(count: int) -> str:
    """`Repository` for `count` repositories at once (`Repositories`): each one's first pages under the alias
    `repository{i}`, with its own variables (`$owner{i}`, `$name{i}`, `$deployments{i}`, `$pulls{i}`,
    `$branch{i}`, `$since{i}`) and the nested page sizes shared (`$statuses`, `$commits`, `$history`)."""
    declared = ", ".join(
        f"$owner{i}: String!, $name{i}: String!, $deployments{i}: Int!, $pulls{i}: Int!, $branch{i}: String!, "
        f"$since{i}: GitTimestamp"
        for i in range(count)
    )
    aliases = "\n  ".join(f"repository{i}: {_first_pages(str(i))}" for i in range(count))
    return f"""
query Repositories($statuses: Int!, $commits: Int!, $history: Int!, {declared}) {{
  {_RATE_LIMIT}
  {aliases}
}}
{_STATUS_FIELDS}
{COMMIT_FIELDS}"""


DEPLOYMENTS = f"""
query Deployments($owner: String!, $name: String!, $first: Int!, $statuses: Int!, $after: String) {{
  {_RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    {_deployments("first", "statuses", after=True)}
  }}
}}
{_STATUS_FIELDS}"""

PULL_REQUESTS = f"""
query PullRequests($owner: String!, $name: String!, $first: Int!, $commits: Int!, $after: String) {{
  {_RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    {_pull_requests("first", "commits", after=True)}
  }}
}}
{COMMIT_FIELDS}"""

COMMITS = f"""
query Commits(
  $owner: String!, $name: String!, $branch: String!, $first: Int!, $since: GitTimestamp, $after: String
) {{
  {_RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    {_history("first", after=True)}
  }}
}}
{COMMIT_FIELDS}"""


def _next_pages(operation: str, parent: str, connection: str, page: str, fragments: str = "") -> str:
    """The query of the further pages of a connection nested in a node (a deployment's statuses, ...)."""
    return f"""
query {operation}($id: ID!, $first: Int!, $after: String) {{
  {_RATE_LIMIT}
  node(id: $id) {{ ... on {parent} {{ {connection}(first: $first, after: $after) {{ {page} }} }} }}
}}
{fragments}"""


DEPLOYMENT_STATUSES = _next_pages("DeploymentStatuses", "Deployment", "statuses", _STATUSES_PAGE, _STATUS_FIELDS)
PULL_COMMITS = _next_pages("PullRequestCommits", "PullRequest", "commits", _COMMITS_PAGE, COMMIT_FIELDS)
COMMIT_PARENTS = _next_pages("CommitParents", "Commit", "parents", f"{_PAGE_INFO} nodes {{ oid }}")


def graphql_endpoint(api_url: str) -> str:
    """GitHub's GraphQL endpoint beside a REST base URL: `https://api.github.com/graphql`, GitHub Enterprise
    Server's `https://host/api/graphql` for `https://host/api/v3`, else `{api_url}/graphql`."""
    api_url = api_url.rstrip("/")
    if api_url.endswith("/api/v3"):
        return api_url.removesuffix("/v3") + "/graphql"
    return api_url + "/graphql"


def database_id(node_id: str) -> int:
    """The REST id a GraphQL node id carries.

    Legacy ids are base64 of `0<length of the type name>:<type name><id>` (`MDE2OkRlcGxveW1lbnRTdGF0dXMx` is
    `016:DeploymentStatus1`); current ids are `<PREFIX>_` and the URL-safe base64 of a MessagePack array whose last
    element is the id (`U_kgDOADP9xw` is `[0, 3407303]`; repository-scoped objects carry the repository's id
    before their own).
    """
    prefix, underscore, packed = node_id.partition("_")
    try:
        if underscore and prefix.isalpha():
            return _last_msgpack_int(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))
        length, _, rest = base64.b64decode(node_id, validate=True).decode().partition(":")
        number = rest[int(length) :]
        if number.isdigit():
            return int(number)
    except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
        pass
    raise ConnectorError(f"cannot read a database id from the GraphQL node id {node_id!r}")


def _last_msgpack_int(data: bytes) -> int:
    """The last element of a MessagePack array of non-negative integers and short strings (a node id's payload)."""
    head = data[0]
    if 0x90 <= head <= 0x9F:
        count, at = head & 0x0F, 1
    elif head == 0xDC:
        count, at = int.from_bytes(data[1:3], "big"), 3
    else:
        raise ValueError("not an array")
    value: int | str | None = None
    widths = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}
    for _ in range(count):
        kind = data[at]
        if kind <= 0x7F:
            value, at = kind, at + 1
        elif kind in widths:
            width = widths[kind]
            value, at = int.from_bytes(data[at + 1 : at + 1 + width], "big"), at + 1 + width
        elif 0xA0 <= kind <= 0xBF:  # a short string: skipped over, never an id
            at += 1 + (kind & 0x1F)
            value = None
        else:
            raise ValueError(f"unexpected MessagePack type {kind:#x}")
    if not isinstance(value, int) or at != len(data):
        raise ValueError("no id")
    return value


# --- the REST shape ---------------------------------------------------------------------------------------------

GHOST = {"login": "ghost", "type": "User"}  # REST's stand-in for a deleted account; GraphQL answers null


def _actor(actor: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if actor is None:
        return None
    login, kind = actor.get("login"), actor.get("__typename")
    # GraphQL names a bot by its app's slug; REST (and so staging) by the slug with `[bot]`.
    return {"login": f"{login}[bot]" if kind == "Bot" else login, "type": kind}


def rest_deployment(node: Mapping[str, Any], repo_url: str) -> dict[str, Any]:
    """A `Deployment` node as `GET /repos/{repo}/deployments` lists it (the subset in the module docstring)."""
    url = f"{repo_url}/deployments/{node['databaseId']}"
    ref = node.get("ref")
    return {
        "url": url,
        "id": node["databaseId"],
        "node_id": node["id"],
        "sha": node["commitOid"],
        # A deployment made from a commit has no Ref: REST then gives the sha it was asked for.
        "ref": ref["name"] if ref else node["commitOid"],
        "task": node.get("task"),
        "original_environment": node.get("originalEnvironment"),
        "environment": node.get("environment"),
        "description": node.get("description"),
        "creator": _actor(node.get("creator")),
        "created_at": node["createdAt"],
        "updated_at": node["updatedAt"],
        "statuses_url": f"{url}/statuses",
        "repository_url": repo_url,
    }


def rest_status(node: Mapping[str, Any], deployment_url: str, repo_url: str) -> dict[str, Any]:
    """A `DeploymentStatus` node as `GET .../deployments/{id}/statuses` lists it."""
    status_id = database_id(node["id"])
    return {
        "url": f"{deployment_url}/statuses/{status_id}",
        "id": status_id,
        "node_id": node["id"],
        "state": str(node["state"]).lower(),  # SUCCESS -> success, as REST spells every state
        "description": node.get("description") or "",  # REST's default is the empty string, GraphQL's null
        "environment": node.get("environment"),
        "creator": _actor(node.get("creator")),
        "created_at": node["createdAt"],
        "updated_at": node["updatedAt"],
        "deployment_url": deployment_url,
        "repository_url": repo_url,
    }


def rest_pull(node: Mapping[str, Any], repo: str, repo_url: str) -> dict[str, Any]:
    """A `PullRequest` node of repository `repo` (owner/name) as `GET /repos/{repo}/pulls` lists it."""
    merge_commit = node.get("mergeCommit") or node.get("potentialMergeCommit") or {}
    return {
        "url": f"{repo_url}/pulls/{node['number']}",
        "id": node["databaseId"],
        "node_id": node["id"],
        "number": node["number"],
        "state": "open" if node["state"] == "OPEN" else "closed",  # REST has no `merged` state
        "title": node.get("title"),
        "user": _actor(node.get("author")) or dict(GHOST),
        # The base is always the repository listed (a fork's pull request targets it).
        "base": {"ref": node.get("baseRefName"), "sha": node.get("baseRefOid"), "repo": {"full_name": repo}},
        "head": {"ref": node.get("headRefName"), "sha": node.get("headRefOid")},
        "merge_commit_sha": merge_commit.get("oid"),
        "created_at": node["createdAt"],
        "updated_at": node["updatedAt"],
        "closed_at": node.get("closedAt"),
        "merged_at": node.get("mergedAt"),
    }


def rest_commit(node: Mapping[str, Any], repo_url: str, parents: list[str]) -> dict[str, Any]:
    """A `Commit` node as `GET /repos/{repo}/pulls/{n}/commits` lists it, with all its parents' shas."""
    author, committer = node.get("author") or {}, node.get("committer") or {}
    return {
        "url": f"{repo_url}/commits/{node['oid']}",
        "sha": node["oid"],
        "node_id": node["id"],
        "commit": {
            # authoredDate and committedDate are UTC DateTimes, as REST gives the dates; GitActor.date keeps the
            # committer's offset.
            "author": {"name": author.get("name"), "email": author.get("email"), "date": node["authoredDate"]},
            "committer": {
                "name": committer.get("name"),
                "email": committer.get("email"),
                "date": node["committedDate"],
            },
            "message": node.get("message"),
        },
        "parents": [{"url": f"{repo_url}/commits/{sha}", "sha": sha} for sha in parents],
    }
