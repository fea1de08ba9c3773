"""GitHub through GraphQL (`api: graphql`): the same records as REST in far fewer requests, nested connections
followed page by page, the branch's history from a lower bound, the REST cap and octopus merges, REST's logins, and
the endpoint and ids it works out."""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors.base import Checkpoint, Record
from connectors.github import PULL_COMMITS_CAP, GithubConnector, GithubMapping, GithubSettings
from connectors.github_graphql import database_id, graphql_endpoint
from connectors.http import ConnectorError, HttpSettings
from sample_org.generator import GitHubRepo
from tests.conftest import example
from tests.connectors.fakes import (
    START,
    FakeApi,
    Handler,
    collect,
    fake_github,
    fake_github_graphql,
    github_repo,
    graphql_variables,
    json_response,
    legacy_node_id,
    link_page,
    serve_github_graphql,
    ts,
)


def connector(server: HTTPServer, repo: str, page_size: int = 100, api: str = "graphql") -> GithubConnector:
    settings = GithubSettings(api_url=server.url_for("/"), page_size=page_size, api=api)
    gh = GithubConnector(settings, {"svc": GithubMapping(repo=repo)})
    gh.client.settings = HttpSettings(backoff_factor=0.001, backoff_max=0.01)
    return gh


def by_stream(records: dict[str, list[Record]]) -> dict[str, dict[str, tuple[Any, ...]]]:
    return {s: {r.pk: (r.cursor, dict(r.context)) for r in rs} for s, rs in records.items()}


def test_same_records_as_rest_in_far_fewer_requests(httpserver: HTTPServer) -> None:
    """The two fakes serve the same records (deployment 98 has 4 statuses and pull request 11 has 4 commits, more
    than a page of 3): the GraphQL path follows the nested connections and lands REST's keys, cursors and contexts."""
    fake_github(FakeApi(httpserver))
    rest = connector(httpserver, "acme/shop", page_size=3, api="rest")
    rest_records, rest_checkpoints = collect(rest, lambda s, p: None)
    httpserver.clear()
    fixture = fake_github_graphql(FakeApi(httpserver))
    gql = connector(httpserver, "acme/shop", page_size=3)
    records, checkpoints = collect(gql, lambda s, p: None)

    assert by_stream(records) == by_stream(rest_records)
    assert {s: len(r) for s, r in records.items()} == fixture.expected
    assert checkpoints == rest_checkpoints
    assert gql.graphql.queries["DeploymentStatuses"] == 1, "deployment 98's fourth status: a page of its own"
    assert gql.graphql.queries["PullRequestCommits"] == 1, "pull request 11's fourth commit: a page of its own"
    assert gql.client.requests_made < rest.client.requests_made / 2
    statuses = {r.pk: r.payload for r in records["deployment_statuses"]}
    assert statuses["980"]["deployment_url"].endswith("/repos/acme/shop/deployments/98")


def hourly_deployments(name: str, n: int = 25) -> GitHubRepo:
    """A repository with `n` deployments, newest first, one an hour back from START (ids 500, 499, ...)."""
    template = example("github/deployments")[0]
    repo = GitHubRepo(name)
    for i in range(n):
        d = copy.deepcopy(template)
        d.update(id=500 - i, node_id=legacy_node_id("Deployment", 500 - i), created_at=ts(-60 * i))
        d["updated_at"] = d["created_at"]
        repo.deployments.append(d)
    return repo


def test_deployments_stop_paging_past_the_cursor_minus_lookback(httpserver: HTTPServer) -> None:
    serve_github_graphql(FakeApi(httpserver), hourly_deployments("acme/big"))

    lower = START - timedelta(minutes=60 * 12 + 30)  # between deployments 12 and 13: page 3 of 5
    gh = connector(httpserver, "acme/big", page_size=5)
    records, checkpoints = collect(gh, lambda s, p: lower if s == "deployments" else None)

    assert gh.graphql.queries["Repository"] == 1, "page 1, with the repository's other listings"
    assert gh.graphql.queries["Deployments"] == 2, "pages 2 and 3, from page 1's cursor"
    assert [r.payload["id"] for r in records["deployments"]] == [500 - i for i in range(13)]
    assert Checkpoint("deployments", "acme/big", START) in checkpoints


def test_a_later_sync_asks_a_small_first_page_then_whole_pages(httpserver: HTTPServer) -> None:
    """A repository with a few new deployments costs a page of ten, not a hundred with their statuses; one with
    more new than that is read on in whole pages, and every new deployment lands either way."""
    serve_github_graphql(FakeApi(httpserver), hourly_deployments("acme/busy"))

    # The page size of deployments each query asks: the first page's in `Repository`, the next ones' in `Deployments`.
    size_of = {"Repository": "deployments", "Deployments": "first"}

    def deployments_asked(lower: datetime | None) -> tuple[list[int], list[Record]]:
        httpserver.clear_log()
        gh = connector(httpserver, "acme/busy")
        records, _ = collect(gh, lambda s, p: lower if s == "deployments" else None)
        bodies = [json.loads(request.get_data()) for request, _ in httpserver.log if request.method == "POST"]
        asked = [(re.search(r"query (\w+)", b["query"])[1], b["variables"]) for b in bodies]
        return [variables[size_of[op]] for op, variables in asked if op in size_of], records["deployments"]

    first_sync, landed = deployments_asked(None)
    assert (first_sync, len(landed)) == ([100], 25)
    quiet_day, landed = deployments_asked(START - timedelta(minutes=60 * 3 + 30))
    assert (quiet_day, [r.payload["id"] for r in landed]) == ([10], [500, 499, 498, 497])
    busy_day, landed = deployments_asked(START - timedelta(minutes=60 * 12 + 30))
    assert (busy_day, [r.payload["id"] for r in landed]) == ([10, 100], [500 - i for i in range(13)])


def serve_github_rest(api: FakeApi, *repos: GitHubRepo) -> None:
    """GitHub's REST routes over `repos`, as `fake_github` serves its one, `/commits` with GitHub's `since` (the
    commits committed since then, as GraphQL's `history(since:)` lists them)."""
    by_name = {repo.full_name: repo for repo in repos}

    def listed(items: Callable[[GitHubRepo, re.Match], list[dict[str, Any]]]) -> Handler:
        return lambda request, m: link_page(request, items(by_name[m["repo"]], m), api.server)

    def commits(request: Request, m: re.Match) -> Response:
        # Every timestamp has the same format: comparing the strings compares the times.
        since = request.args.get("since") or ""
        found = [c for c in by_name[m["repo"]].commits if c["commit"]["committer"]["date"] >= since]
        return link_page(request, found, api.server)

    path = r"/repos/(?P<repo>[\w.-]+/[\w.-]+)"
    api.route(path + "/deployments", listed(lambda repo, m: repo.deployments))
    api.route(path + r"/deployments/(?P<dep>\d+)/statuses", listed(lambda repo, m: repo.statuses[int(m["dep"])]))
    api.route(path + "/pulls", listed(lambda repo, m: repo.pulls))
    api.route(path + r"/pulls/(?P<n>\d+)/commits", listed(lambda repo, m: repo.pull_commits[int(m["n"])]))
    api.route(path + "/commits", commits)


@pytest.mark.parametrize(
    ("per_query", "ahead", "queries"),
    [
        (1, 1, {"Repository": 3}),
        (2, 1, {"Repositories": 1, "Repository": 1}),
        (20, 1, {"Repositories": 1}),
        (20, 2, {"Repositories": 1, "Repository": 1}),  # never fewer batches than readers at once
    ],
)
def test_a_later_sync_reads_its_repositories_in_a_query_a_batch(
    httpserver: HTTPServer, per_query: int, ahead: int, queries: dict[str, int]
) -> None:
    """A daily run: repositories whose new records fit the first pages (a few deployments with their statuses, pull
    requests with their commits, commits) are read up to `repositories_per_query` to a query (`Repositories`; one
    alone with `Repository`), and land what REST lands from the same lower bounds, with the same checkpoints."""
    repos = [github_repo(f"acme/{name}", shift=k * 100_000) for k, name in enumerate(("api", "shop", "web"))]
    api = FakeApi(httpserver)
    serve_github_rest(api, *repos)
    serve_github_graphql(api, *repos)
    lower = START - timedelta(minutes=70)  # 2 deployments, 3 pull requests (2 merged), 4 commits since
    mappings = {repo.full_name: GithubMapping(repo=repo.full_name) for repo in repos}

    def later_sync(kind: str) -> tuple[GithubConnector, dict[str, list[Record]], list[Checkpoint]]:
        url = httpserver.url_for("/")
        settings = GithubSettings(api_url=url, api=kind, repositories_per_query=per_query, partitions_ahead=ahead)
        gh = GithubConnector(settings, mappings)
        return gh, *collect(gh, lambda s, p: lower)

    _, rest_records, rest_checkpoints = later_sync("rest")
    gh, records, checkpoints = later_sync("graphql")

    assert gh.graphql.queries == queries
    assert gh.client.requests_made == sum(queries.values())
    assert {s: len(r) for s, r in records.items()} == {
        "deployments": 3 * 2, "deployment_statuses": 3 * 4, "pull_requests": 3 * 3, "pull_commits": 3 * 6,
        "commits": 3 * 4,
    }  # fmt: skip
    assert by_stream(records) == by_stream(rest_records)
    assert checkpoints == rest_checkpoints


def batched_sync(
    httpserver: HTTPServer,
    mappings: dict[str, GithubMapping],
    since: Callable[[str, str], datetime | None],
    per_query: int,
) -> tuple[GithubConnector, dict[str, list[Record]], list[Checkpoint]]:
    """A GraphQL sync of `mappings` reading `per_query` repositories to a query, one batch at a time."""
    settings = GithubSettings(api_url=httpserver.url_for("/"), repositories_per_query=per_query, partitions_ahead=1)
    gh = GithubConnector(settings, dict(mappings))
    return gh, *collect(gh, since)


def test_a_repository_never_read_has_a_query_of_its_own(httpserver: HTTPServer) -> None:
    """A repository with no cursor asks whole first pages (100 deployments with 100 statuses each, ...): it has a
    query of its own, so an answer holds at most one repository's backfill. A repository read before (any cursor)
    joins a batch, and lands what it lands when read alone."""
    repos = [github_repo(f"acme/{name}", shift=k * 100_000) for k, name in enumerate(("api", "shop", "web"))]
    serve_github_graphql(FakeApi(httpserver), *repos)
    mappings = {repo.full_name: GithubMapping(repo=repo.full_name) for repo in repos}
    read_before = START - timedelta(minutes=70)

    def since(stream: str, repo: str) -> datetime | None:
        return read_before if repo != "acme/shop" and stream == "commits" else None

    alone, alone_records, alone_checkpoints = batched_sync(httpserver, mappings, since, per_query=1)
    gh, records, checkpoints = batched_sync(httpserver, mappings, since, per_query=20)

    assert alone.graphql.queries == {"Repository": 3}
    assert gh.graphql.queries == {"Repositories": 1, "Repository": 1}, "api and web together, shop alone"
    assert by_stream(records) == by_stream(alone_records)
    # The repositories come in another order: shop's own query first.
    assert sorted(checkpoints, key=repr) == sorted(alone_checkpoints, key=repr)
    assert {r.context["repo"] for r in records["deployments"]} == {"acme/api", "acme/shop", "acme/web"}


def test_an_error_for_one_repository_of_a_batch_lands_nothing_of_the_batch(httpserver: HTTPServer) -> None:
    """GitHub answers a batch whose second repository is gone with the others' data and a NOT_FOUND error beside
    it (HTTP 200): the sync fails naming the query and the repository, before a record of the batch is delivered,
    so a re-run reads the whole batch again from the same cursors and lands what a clean sync lands."""
    repos = [github_repo(f"acme/{name}", shift=k * 100_000) for k, name in enumerate(("api", "shop", "web"))]
    mappings = {repo.full_name: GithubMapping(repo=repo.full_name) for repo in repos}
    lower = START - timedelta(minutes=70)
    serve_github_graphql(FakeApi(httpserver), repos[0], repos[2])  # acme/shop is gone

    gh = GithubConnector(GithubSettings(api_url=httpserver.url_for("/"), partitions_ahead=1), mappings)
    delivered: list[Any] = []
    with pytest.raises(ConnectorError) as failed:
        delivered.extend(gh.sync(lambda s, p: lower))

    assert "GitHub GraphQL Repositories" in str(failed.value)
    assert "NOT_FOUND" in str(failed.value) and "acme/shop" in str(failed.value), failed.value
    assert delivered == []
    assert gh.client.requests_made == 1, "one query for the three, failed at once (no retry)"

    httpserver.clear()
    serve_github_graphql(FakeApi(httpserver), *repos)
    _, records, checkpoints = batched_sync(httpserver, mappings, lambda s, p: lower, per_query=20)
    _, alone_records, alone_checkpoints = batched_sync(httpserver, mappings, lambda s, p: lower, per_query=1)
    assert by_stream(records) == by_stream(alone_records)
    assert checkpoints == alone_checkpoints


def test_each_repository_of_a_batch_is_read_from_its_own_cursor(httpserver: HTTPServer) -> None:
    """12 repositories (aliases past 10), each with cursors of its own, in one query: each lands what it lands when
    read alone, so no alias reads another's lower bound or page sizes."""
    repos = [github_repo(f"acme/r{k}", shift=k * 100_000) for k in range(12)]
    serve_github_graphql(FakeApi(httpserver), *repos)
    mappings = {repo.full_name: GithubMapping(repo=repo.full_name) for repo in repos}
    # Repository k was read up to k * 40 + 10 minutes back: the further back, the more new records.
    lower = {repo.full_name: START - timedelta(minutes=40 * k + 10) for k, repo in enumerate(repos)}

    def since(stream: str, repo: str) -> datetime | None:
        # acme/r3 never had a deployment: its first page of deployments is a whole one
        return None if (stream, repo) == ("deployments", "acme/r3") else lower[repo]

    alone, alone_records, alone_checkpoints = batched_sync(httpserver, mappings, since, per_query=1)
    assert alone.graphql.queries["Repository"] == 12
    gh, records, checkpoints = batched_sync(httpserver, mappings, since, per_query=20)

    assert gh.graphql.queries["Repositories"] == 1 and "Repository" not in gh.graphql.queries, gh.graphql.queries
    counts = {repo: sum(r.context["repo"] == repo for r in records["commits"]) for repo in lower}
    assert len(set(counts.values())) > 3, f"the cursors should read different numbers of commits: {counts}"
    assert by_stream(records) == by_stream(alone_records)
    assert checkpoints == alone_checkpoints


def test_each_repository_of_a_batch_reads_its_own_branch(httpserver: HTTPServer) -> None:
    """The middle repository of a batch is mapped to a branch it does not have: the sync fails naming that
    repository and branch, not another's."""
    repos = [github_repo(f"acme/{name}", shift=k * 100_000) for k, name in enumerate(("api", "shop", "web"))]
    serve_github_graphql(FakeApi(httpserver), *repos)
    mappings = {repo.full_name: GithubMapping(repo=repo.full_name) for repo in repos}
    mappings["acme/shop"] = GithubMapping(repo="acme/shop", branch="release")
    gh = GithubConnector(GithubSettings(api_url=httpserver.url_for("/"), partitions_ahead=1), mappings)

    with pytest.raises(ConnectorError, match="acme/shop has no branch 'release'"):
        collect(gh, lambda s, p: START - timedelta(minutes=70))
    assert gh.graphql.queries["Repositories"] == 1


def test_the_largest_batch_stays_within_githubs_node_limit(httpserver: HTTPServer) -> None:
    """30 repositories (the most `repositories_per_query` allows) asking whole first pages of deployments and pull
    requests (no cursor of theirs yet) at 100 a page: the sample server, which refuses a query that could return
    more than 500,000 nodes as GitHub does, answers the batch in one query."""
    repos = [github_repo(f"acme/r{k}", shift=k * 100_000) for k in range(30)]
    serve_github_graphql(FakeApi(httpserver), *repos)
    mappings = {repo.full_name: GithubMapping(repo=repo.full_name) for repo in repos}
    settings = GithubSettings(api_url=httpserver.url_for("/"), repositories_per_query=30, partitions_ahead=1)
    gh = GithubConnector(settings, mappings)
    records, _ = collect(gh, lambda s, p: START - timedelta(days=1) if s == "commits" else None)

    assert gh.graphql.queries == {"Repositories": 1}
    assert {r.context["repo"] for r in records["deployments"]} == {repo.full_name for repo in repos}
    with pytest.raises(ValidationError, match="repositories_per_query"):
        GithubSettings(api_url=httpserver.url_for("/"), repositories_per_query=31)


def commit(n: int, parents: int = 1) -> dict[str, Any]:
    c = copy.deepcopy(example("github/commits")[0])
    c.update(sha=f"{n:040x}", node_id=legacy_node_id("Commit", n))
    c["commit"]["author"]["date"] = ts(n % 1000)
    c["parents"] = [{"url": "x", "sha": f"{n * 10 + k:040x}"} for k in range(parents)]
    return c


def merged_pull(number: int, **extra: Any) -> dict[str, Any]:
    p = copy.deepcopy(example("github/pulls")[0])
    p.update(id=9000 + number, node_id=legacy_node_id("PullRequest", 9000 + number), number=number, state="closed")
    p.update(updated_at=ts(-number), merged_at=ts(-number), **extra)
    p["base"] = {"ref": "main", "sha": f"{number:036x}ba5e"}
    p["head"] = {"ref": f"feature-{number}", "sha": f"{number:036x}beef"}
    return p


def test_pull_requests_past_250_commits_are_read_with_compare(httpserver: HTTPServer) -> None:
    sizes = {1: 300, 2: 249, 3: 260}
    repo = GitHubRepo("acme/big", pulls=[merged_pull(n) for n in sizes])
    repo.pull_commits = {n: [commit(n * 1000 + i) for i in range(size)] for n, size in sizes.items()}
    api = FakeApi(httpserver)
    serve_github_graphql(api, repo)

    def compare(request: Request, m: re.Match) -> Response:
        number = next(p["number"] for p in repo.pulls if (p["base"]["sha"], p["head"]["sha"]) == (m["base"], m["head"]))
        items = repo.pull_commits[number]
        per_page, page = int(request.args["per_page"]), int(request.args.get("page", 1))
        headers = {}
        if page * per_page < len(items):
            query = urlencode({**request.args.to_dict(), "page": page + 1})
            headers["Link"] = f'<{httpserver.url_for(request.path)}?{query}>; rel="next"'
        return json_response({"commits": items[(page - 1) * per_page : page * per_page]}, headers=headers)

    api.route(r"/repos/acme/big/compare/(?P<base>\w+)\.\.\.(?P<head>\w+)", compare)
    gh = connector(httpserver, "acme/big")
    records, _ = collect(gh, lambda s, p: None)

    counts: dict[int, int] = {}
    for r in records["pull_commits"]:
        counts[r.context["pull_number"]] = counts.get(r.context["pull_number"], 0) + 1
    assert counts == sizes
    assert sum("/compare/" in r.path for r in api.requests) == 3 + 3, "300 and 260 commits: 3 pages of 100 each"
    assert gh.graphql.queries["PullRequestCommits"] == 3, "249 commits: 10 listed with the pull, then 100, 100, 39"
    assert PULL_COMMITS_CAP == 250


def test_an_octopus_merge_keeps_every_parent(httpserver: HTTPServer) -> None:
    repo = GitHubRepo("acme/shop", pulls=[merged_pull(7)])
    repo.pull_commits = {7: [commit(70, parents=1), commit(71, parents=3)]}
    serve_github_graphql(FakeApi(httpserver), repo)
    gh = connector(httpserver, "acme/shop")
    records, _ = collect(gh, lambda s, p: None)

    parents = {r.payload["sha"]: [p["sha"] for p in r.payload["parents"]] for r in records["pull_commits"]}
    assert parents[f"{71:040x}"] == [f"{710 + k:040x}" for k in range(3)], "all three, in git order"
    assert parents[f"{70:040x}"] == [f"{700:040x}"]
    assert gh.graphql.queries["CommitParents"] == 1


def test_mainline_commits_come_from_the_branch_history_since_the_cursor(httpserver: HTTPServer) -> None:
    """The branch's commits are read with `history`, 100 a query as REST's `/commits`, and a later sync asks for
    those committed since its lower bound only (GitHub's `since`, as REST's)."""
    api = FakeApi(httpserver)
    serve_github_graphql(api, github_repo())
    gh = connector(httpserver, "acme/shop", page_size=4)
    records, checkpoints = collect(gh, lambda s, p: None)
    assert [r.payload["sha"] for r in records["commits"]] == [f"{1000 + i:040x}" for i in range(6)]
    assert gh.graphql.queries["Commits"] == 1, "6 commits at 4 a page: the first read by `Repository`"
    assert Checkpoint("commits", "acme/shop", START) in checkpoints

    lower = START - timedelta(minutes=45)  # commits are 20 minutes apart: the three newest are committed since
    later = connector(httpserver, "acme/shop", page_size=4)
    records, _ = collect(later, lambda s, p: lower if s == "commits" else None)
    assert [r.payload["sha"] for r in records["commits"]] == [f"{1000 + i:040x}" for i in range(3)]
    assert later.graphql.queries["Commits"] == 0, "3 commits: `Repository`'s first page holds them"
    asked = [graphql_variables(r) for r in api.requests if "query Repository" in r.get_data(as_text=True)]
    assert asked[-1]["since"] == "2026-01-05T08:15:00Z"  # START minus 45 minutes, in GitHub's format


def test_an_empty_repository_has_no_commits_and_a_missing_branch_fails_naming_it(httpserver: HTTPServer) -> None:
    """No branch: on an empty repository (nothing pushed yet) that means no commits; on any other, the catalog
    names a branch that is not there, and the sync fails saying which (REST answers 404 there)."""
    serve_github_graphql(FakeApi(httpserver), hourly_deployments("acme/new"), github_repo())
    records, _ = collect(connector(httpserver, "acme/new"), lambda s, p: None)
    assert "commits" not in records and len(records["deployments"]) == 25

    settings = GithubSettings(api_url=httpserver.url_for("/"), api="graphql")
    gh = GithubConnector(settings, {"svc": GithubMapping(repo="acme/shop", branch="trunk")})
    with pytest.raises(ConnectorError, match="acme/shop has no branch 'trunk'"):
        collect(gh, lambda s, p: None)


def test_logins_as_rest_gives_them(httpserver: HTTPServer) -> None:
    """GraphQL names a bot without `[bot]` and a deleted author null; REST (and staging) say `x[bot]` and `ghost`."""
    deployment = copy.deepcopy(example("github/deployments")[0])
    deployment.update(node_id=legacy_node_id("Deployment", 1), created_at=ts(0), updated_at=ts(0))
    deployment["creator"] = {"login": "deploy-app[bot]", "type": "Bot"}
    repo = GitHubRepo("acme/shop", deployments=[deployment], pulls=[merged_pull(5, user=None)])
    serve_github_graphql(FakeApi(httpserver), repo)
    records, _ = collect(connector(httpserver, "acme/shop"), lambda s, p: None)

    assert records["deployments"][0].payload["creator"] == {"login": "deploy-app[bot]", "type": "Bot"}
    assert records["pull_requests"][0].payload["user"]["login"] == "ghost"


def test_the_graphql_endpoint_beside_the_rest_one() -> None:
    assert graphql_endpoint("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_endpoint("https://ghe.example.com/api/v3") == "https://ghe.example.com/api/graphql"
    assert graphql_endpoint("http://127.0.0.1:8080/github/") == "http://127.0.0.1:8080/github/graphql"
    settings = GithubSettings(api_url="https://ghe.example.com/api/v3", graphql_url="https://ghe.example.com/gql/")
    assert settings.graphql_endpoint() == "https://ghe.example.com/gql"
    assert GithubSettings(api_url="https://api.github.com").api == "graphql", "GraphQL is the default"
    with pytest.raises(ValidationError, match="graphql_url must be on api_url's scheme, host and port"):
        GithubSettings(api_url="https://api.github.com", graphql_url="https://elsewhere.example.com/graphql")
    with pytest.raises(ValidationError, match="must not carry credentials"):
        GithubSettings(api_url="https://api.github.com", graphql_url="https://me:secret@api.github.com/graphql")
    with pytest.raises(ValidationError):
        GithubSettings(api_url="https://api.github.com", api="soap")


def msgpack_id(*numbers: int) -> str:
    """The payload of a current node id: a MessagePack array of uint32s, URL-safe base64 without padding."""
    packed = bytes([0x90 | len(numbers)]) + b"".join(
        bytes([n]) if n < 0x80 else b"\xce" + n.to_bytes(4, "big") for n in numbers
    )
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def test_rest_ids_from_node_ids() -> None:
    assert database_id("MDE2OkRlcGxveW1lbnRTdGF0dXMx") == 1  # 016:DeploymentStatus1, GitHub's own example
    assert database_id(legacy_node_id("DeploymentStatus", 2100000084)) == 2100000084
    assert database_id("U_kgDOADP9xw") == 3407303  # GitHub's example of a current user id
    assert database_id("DES_" + msgpack_id(0, 123456789, 2100000084)) == 2100000084  # repository-scoped
    for garbage in ("", "not-an-id", "DES_!!!", base64.b64encode(b"016:DeploymentStatus").decode()):
        with pytest.raises(ConnectorError, match="cannot read a database id"):
            database_id(garbage)


def test_costs_are_logged(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    fake_github_graphql(FakeApi(httpserver))
    gh = connector(httpserver, "acme/shop", page_size=3)
    with caplog.at_level(logging.INFO, logger="connectors.github"):
        collect(gh, lambda s, p: None)
    assert (
        "github GraphQL: 7 queries, 7 points: Commits 1 (1 points), DeploymentStatuses 1 (1 points), Deployments 2"
        " (2 points), PullRequestCommits 1 (1 points), PullRequests 1 (1 points), Repository 1 (1 points)"
        in caplog.text
    )
    assert sum(gh.graphql.points.values()) == sum(gh.graphql.queries.values()), "every query of pages of 3: 1 point"


# --- answers written out as GitHub gives them -------------------------------------------------------------------
#
# The tests above serve GraphQL through the sample organisation's executor, which the connector's authors also
# wrote: these serve literal answers in the shape GitHub's API and documentation give (nested connections with
# `pageInfo`, `rateLimit`, errors beside a 200), so a misreading of GitHub shared by both cannot pass unseen.

GITHUB_EXAMPLE_REPOS = (
    "https://api.github.com/repos/octocat/example",
    "https://api.github.com/repos/octocat/Hello-World",
)
ACTOR = {"__typename": "User", "login": "octocat"}
MERGE_SHA = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"  # a merge commit of the pull request's branch
BASE_SHA = "553c2077f0edc3d5dc5d17262f6aa498e69d6f8e"


def on_loopback(payload: Any, repo_url: str) -> Any:
    """A recorded REST example as the fake's REST API serves it: its URLs on the fake's host, in acme/shop."""
    text = json.dumps(payload)
    for recorded in GITHUB_EXAMPLE_REPOS:
        text = text.replace(recorded, repo_url)
    return json.loads(text)


def rest_payloads(repo_url: str) -> dict[str, list[dict[str, Any]]]:
    """One deployment with two statuses, a merged pull request with two commits (the second a merge, two parents),
    a pull request closed unmerged, and the same two commits on the mainline: REST's payloads, from the recorded
    examples."""
    deployment = on_loopback(example("github/deployments")[0], repo_url)
    deployment.update(id=42, node_id=legacy_node_id("Deployment", 42), url=f"{repo_url}/deployments/42")
    deployment["statuses_url"] = f"{repo_url}/deployments/42/statuses"
    first_status = on_loopback(example("github/deployment_statuses")[0], repo_url)  # of deployment 42, id 1
    second_status = copy.deepcopy(first_status)
    second_status.update(
        id=2, node_id=legacy_node_id("DeploymentStatus", 2), url=f"{repo_url}/deployments/42/statuses/2"
    )
    second_status.update(state="in_progress", description="", created_at="2012-07-20T01:20:00Z")
    second_status["updated_at"] = second_status["created_at"]

    merged = on_loopback(example("github/pulls")[0], repo_url)
    merged["state"] = "closed"  # the example says open beside a merged_at; `state=closed` lists it closed
    merged["base"] = {"ref": "main", "sha": BASE_SHA, "repo": {"full_name": "acme/shop"}}
    unmerged = copy.deepcopy(merged)
    unmerged.update(id=2, node_id=legacy_node_id("PullRequest", 2), number=1348, url=f"{repo_url}/pulls/1348")
    unmerged.update(merged_at=None, merge_commit_sha=None, updated_at="2011-01-25T19:01:12Z")

    branch_commit = on_loopback(example("github/commits")[0], repo_url)
    merge_commit = copy.deepcopy(branch_commit)
    merge_commit.update(
        sha=MERGE_SHA, node_id=legacy_node_id("Commit", MERGE_SHA), url=f"{repo_url}/commits/{MERGE_SHA}"
    )
    merge_commit["commit"]["message"] = "Merge main into new-topic"
    merge_commit["commit"]["committer"]["date"] = "2011-04-15T09:00:00Z"
    merge_commit["parents"] = [
        {"url": f"{repo_url}/commits/{sha}", "sha": sha} for sha in (branch_commit["sha"], BASE_SHA)
    ]
    return {
        "deployments": [deployment],
        "deployment_statuses": [second_status, first_status],  # REST lists statuses newest first
        "pull_requests": [merged, unmerged],
        "pull_commits": [branch_commit, merge_commit],
        "commits": [merge_commit, branch_commit],  # newest first
    }


def status_node(status: dict[str, Any]) -> dict[str, Any]:
    """A DeploymentStatus as GraphQL gives it: its state upper case, no description as null, no database id."""
    return {
        "id": status["node_id"],
        "state": status["state"].upper(),
        "description": status["description"] or None,
        "environment": status["environment"],
        "createdAt": status["created_at"],
        "updatedAt": status["updated_at"],
        "creator": ACTOR,
    }


def commit_node(commit: dict[str, Any]) -> dict[str, Any]:
    """A PullRequestCommit node: its commit, parents as `parents(first: 2)` lists them."""
    git = commit["commit"]
    return {
        "commit": {
            "id": commit["node_id"],
            "oid": commit["sha"],
            "authoredDate": git["author"]["date"],
            "committedDate": git["committer"]["date"],
            "message": git["message"],
            "author": {"name": git["author"]["name"], "email": git["author"]["email"]},
            "committer": {"name": git["committer"]["name"], "email": git["committer"]["email"]},
            "parents": {"totalCount": len(commit["parents"]), "nodes": [{"oid": p["sha"]} for p in commit["parents"]]},
        }
    }


def pull_node(pull: dict[str, Any], commits: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": pull["node_id"],
        "databaseId": pull["id"],
        "number": pull["number"],
        "title": pull["title"],
        "state": "MERGED" if pull["merged_at"] else "CLOSED",
        "createdAt": pull["created_at"],
        "updatedAt": pull["updated_at"],
        "closedAt": pull["closed_at"],
        "mergedAt": pull["merged_at"],
        "baseRefName": pull["base"]["ref"],
        "baseRefOid": pull["base"]["sha"],
        "headRefName": pull["head"]["ref"],
        "headRefOid": pull["head"]["sha"],
        "mergeCommit": {"oid": pull["merge_commit_sha"]} if pull["merged_at"] else None,
        "potentialMergeCommit": None,
        "author": ACTOR,
        "commits": commits,
    }


def page_info(end_cursor: str | None, more: bool) -> dict[str, Any]:
    return {"hasNextPage": more, "endCursor": end_cursor}


def literal_answers(
    rest: dict[str, list[dict[str, Any]]], low_budget: bool = False
) -> dict[tuple[str, str | None, str | None], tuple[dict[str, Any], int]]:
    """GitHub's answers to the connector's queries at page size 1, by (operation, node id, after): each its `data`
    and the points left after it. `Repository` holds the first page of each listing; every listing but the
    deployments, and every nested connection, has a second page, which needs a follow-up query. `low_budget`: 10
    points are left after the last query of a sync, where the next sync's (or repository's) `Repository` cost 14."""
    deployment, (second_status, first_status) = rest["deployments"][0], rest["deployment_statuses"]
    merged, unmerged = rest["pull_requests"]
    branch_commit, merge_commit = rest["pull_commits"]
    deployment_node = {
        "id": deployment["node_id"],
        "databaseId": deployment["id"],
        "commitOid": deployment["sha"],
        "environment": deployment["environment"],
        "originalEnvironment": deployment["original_environment"],
        "task": deployment["task"],
        "description": deployment["description"],
        "createdAt": deployment["created_at"],
        "updatedAt": deployment["updated_at"],
        "ref": {"name": deployment["ref"]},
        "creator": ACTOR,
        # GraphQL lists statuses oldest first; the page holds one of two.
        "statuses": {"pageInfo": page_info("Y3Vyc29yOnYyOpHOAAAAAQ==", True), "nodes": [status_node(first_status)]},
    }
    commits = {"totalCount": 2, "pageInfo": page_info("MQ", True), "nodes": [commit_node(branch_commit)]}
    history_cursor = f"{MERGE_SHA} 0"  # GitHub's history cursors: the sha the listing started from, and an offset

    # Each listing's first page, which `Repository` answers together.
    deployments = {"pageInfo": page_info("Y3Vyc29yOnYyOpHOAAAAKg==", False), "nodes": [deployment_node]}
    pulls = {"pageInfo": page_info("Y3Vyc29yOnYyOpK5MjAxMS0wMS0yNg==", True), "nodes": [pull_node(merged, commits)]}
    # the mainline's history, newest first, a commit a page
    history = {"pageInfo": page_info(history_cursor, True), "nodes": [commit_node(merge_commit)["commit"]]}
    return {
        ("Repository", None, None): (
            {"repository": {"deployments": deployments, "pullRequests": pulls,
                            "isEmpty": False, "ref": {"target": {"history": history}}}},
            4986,
        ),
        ("DeploymentStatuses", deployment["node_id"], "Y3Vyc29yOnYyOpHOAAAAAQ=="): (
            {"node": {"statuses": {"pageInfo": page_info("Y3Vyc29yOnYyOpHOAAAAAg==", False),
                                   "nodes": [status_node(second_status)]}}},
            4985,
        ),
        ("PullRequestCommits", merged["node_id"], "MQ"): (
            {"node": {"commits": {"totalCount": 2, "pageInfo": page_info("Mg", False),
                                  "nodes": [commit_node(merge_commit)]}}},
            4984,
        ),
        ("PullRequests", None, "Y3Vyc29yOnYyOpK5MjAxMS0wMS0yNg=="): (
            {"repository": {"pullRequests": {"pageInfo": page_info("Y3Vyc29yOnYyOpK5MjAxMS0wMS0yNQ==", False),
                "nodes": [pull_node(unmerged, {"totalCount": 0, "pageInfo": page_info(None, False), "nodes": []})]}}},
            4973,
        ),
        ("Commits", None, history_cursor): (
            {"repository": {"isEmpty": False, "ref": {"target": {"history": {
                "pageInfo": page_info(f"{MERGE_SHA} 1", False), "nodes": [commit_node(branch_commit)["commit"]]}}}}},
            10 if low_budget else 4972,
        ),
    }  # fmt: skip


# What GitHub charges each query (`rateLimit.cost`): a page of pull requests with their commits and each commit's
# parents opens more connections (11) than a page of deployments with their statuses (2) or of the history (1);
# `Repository`, which asks a page of all three, is charged their sum.
COSTS = {"Repository": 2 + 11 + 1, "DeploymentStatuses": 1, "PullRequests": 11, "PullRequestCommits": 1, "Commits": 1}
RESET_IN = 40


def serve_literally(
    httpserver: HTTPServer,
    answers: dict[tuple[str, str | None, str | None], tuple[dict[str, Any], int]],
    rest: dict[str, list[dict[str, Any]]],
    before: dict[str, list[tuple[dict[str, Any], dict[str, str]]]] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """Answer `/graphql` from `answers` (`before`: answers an operation gets first, with their headers), and GitHub's
    REST routes from `rest`; the queries asked, as (operation, variables), are returned as they come."""
    asked: list[tuple[str, dict[str, Any]]] = []
    reset_at = (datetime.now(UTC) + timedelta(seconds=RESET_IN)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def graphql(request: Request) -> Response:
        body = json.loads(request.get_data())
        operation, variables = re.search(r"query (\w+)", body["query"])[1], body["variables"]
        asked.append((operation, variables))
        if before and before.get(operation):
            answer, headers = before[operation].pop(0)
            return json_response(answer, headers=headers)
        found = answers.get((operation, variables.get("id"), variables.get("after")))
        # Every integer variable is a page size (`first`, `statuses`, `history`, ...): the answers are pages of 1.
        if found is None or any(v != 1 for v in variables.values() if isinstance(v, int)):
            message = f"the test serves no answer to {operation} {variables}"
            return json_response({"data": None, "errors": [{"type": "UNEXPECTED", "message": message}]})
        data, remaining = found
        rate_limit = {"cost": COSTS[operation], "remaining": remaining, "resetAt": reset_at}
        return json_response({"data": {"rateLimit": rate_limit, **data}})

    httpserver.expect_request("/graphql", method="POST").respond_with_handler(graphql)
    repo = "/repos/acme/shop"
    httpserver.expect_request(f"{repo}/deployments").respond_with_json(rest["deployments"])
    httpserver.expect_request(f"{repo}/deployments/42/statuses").respond_with_json(rest["deployment_statuses"])
    httpserver.expect_request(f"{repo}/pulls").respond_with_json(rest["pull_requests"])
    httpserver.expect_request(f"{repo}/pulls/1347/commits").respond_with_json(rest["pull_commits"])
    httpserver.expect_request(f"{repo}/commits").respond_with_json(rest["commits"])
    return asked


def within(rest: Any, graphql: Any) -> Any:
    """`rest` cut down to the fields `graphql` has (GraphQL's path lands a subset of REST's payload)."""
    if isinstance(graphql, dict) and isinstance(rest, dict):
        return {key: within(rest.get(key), value) for key, value in graphql.items()}
    if isinstance(graphql, list) and isinstance(rest, list) and len(rest) == len(graphql):
        return [within(r, g) for r, g in zip(rest, graphql, strict=True)]
    return rest


def repo_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/repos/acme/shop")


def test_literal_answers_land_rest_records_following_every_nested_page(httpserver: HTTPServer) -> None:
    """Deployments with their statuses, pull requests with their commits, as GitHub answers them at a page of 1:
    each nested connection's second page is asked for with a follow-up query by node id and cursor, and every record
    lands with REST's key, cursor, context and, field for field, REST's payload."""
    rest = rest_payloads(repo_url(httpserver))
    asked = serve_literally(httpserver, literal_answers(rest), rest)
    rest_records, rest_checkpoints = collect(
        connector(httpserver, "acme/shop", page_size=1, api="rest"), lambda s, p: None
    )
    gh = connector(httpserver, "acme/shop", page_size=1)
    records, checkpoints = collect(gh, lambda s, p: None)

    assert [operation for operation, _ in asked] == [
        "Repository", "DeploymentStatuses", "PullRequestCommits", "PullRequests", "Commits",
    ]  # fmt: skip
    assert {s: len(r) for s, r in records.items()} == {
        "deployments": 1, "deployment_statuses": 2, "pull_requests": 2, "pull_commits": 2, "commits": 2,
    }  # fmt: skip
    assert by_stream(records) == by_stream(rest_records)
    assert checkpoints == rest_checkpoints
    for stream, found in records.items():
        served = {r.pk: r.payload for r in rest_records[stream]}
        for record in found:
            assert within(served[record.pk], record.payload) == record.payload, f"{stream} {record.pk}"
    merge = next(r.payload for r in records["pull_commits"] if r.payload["sha"] == MERGE_SHA)
    assert [p["sha"] for p in merge["parents"]] == [rest["pull_commits"][0]["sha"], BASE_SHA]
    assert {r.payload["id"]: r.payload["description"] for r in records["deployment_statuses"]} == {
        1: "Deployment finished successfully.",
        2: "",  # GraphQL's null, REST's empty string
    }


def test_the_cost_of_each_query_is_read_from_rate_limit(httpserver: HTTPServer) -> None:
    """Points are what `rateLimit.cost` says each query cost, not a count of queries; when fewer points are left
    than the next query of its kind cost, the client waits for `resetAt` before asking it."""
    rest = rest_payloads(repo_url(httpserver))
    serve_literally(httpserver, literal_answers(rest, low_budget=True), rest)
    gh = connector(httpserver, "acme/shop", page_size=1)
    waits: list[float] = []
    gh.client.sleep = waits.append
    collect(gh, lambda s, p: None)

    assert dict(gh.graphql.points) == COSTS
    assert dict(gh.graphql.queries) == dict.fromkeys(COSTS, 1)
    assert waits == [], "10 points left after the last query: nothing else was asked"
    # The next sync's first query, `Repository`, cost 14 the last time, and 10 points are left: it waits for the
    # reset, as a daily run's next repository would.
    collect(gh, lambda s, p: None)
    assert len(waits) == 1 and RESET_IN - 5 <= waits[0] <= RESET_IN + 2, waits
    assert gh.graphql.summary().startswith("10 queries, 56 points: ")


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (
            {
                "data": {
                    "rateLimit": {"cost": 1, "remaining": 4999, "resetAt": "2030-01-01T00:00:00Z"},
                    "repository": None,
                },
                "errors": [{
                    "type": "NOT_FOUND", "path": ["repository"], "locations": [{"line": 4, "column": 3}],
                    "message": "Could not resolve to a Repository with the name 'acme/shop'.",
                }],
            },
            "NOT_FOUND: Could not resolve to a Repository with the name 'acme/shop'.",
        ),
        (
            {"errors": [{
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": "By the time this query traverses to the statuses connection, it is requesting up to"
                " 1,000,000 possible nodes which exceeds the maximum limit of 500,000.",
            }]},
            "MAX_NODE_LIMIT_EXCEEDED: By the time this query traverses to the statuses connection",
        ),
        (
            {"errors": [{
                "path": ["query Repository", "repository", "deployments", "nodes", "commitOid"],
                "extensions": {"code": "undefinedField", "typeName": "Deployment", "fieldName": "commitOid"},
                "locations": [{"line": 7, "column": 21}],
                "message": "Field 'commitOid' doesn't exist on type 'Deployment'",
            }]},
            "undefinedField: Field 'commitOid' doesn't exist on type 'Deployment'",
        ),
    ],
    ids=["not-found-beside-data", "node-limit", "schema"],
)  # fmt: skip
def test_an_error_with_a_200_fails_the_sync_naming_it(httpserver: HTTPServer, answer: dict, shown: str) -> None:
    """GitHub answers a query's errors with HTTP 200: the sync fails at once (no retry) with the query and GitHub's
    message, and lands nothing of the answer, even the data beside the error: here the repository's first query,
    `Repository`, so nothing of the repository."""
    rest = rest_payloads(repo_url(httpserver))
    asked = serve_literally(httpserver, literal_answers(rest), rest, before={"Repository": [(answer, {})]})
    gh = connector(httpserver, "acme/shop", page_size=1)
    delivered: list[Any] = []
    with pytest.raises(ConnectorError) as failed:
        for event in gh.sync(lambda s, p: None):
            delivered.append(event)
    assert str(failed.value).startswith("GitHub GraphQL Repository at http://"), failed.value
    assert shown in str(failed.value)
    assert delivered == [] and len(asked) == 1


@pytest.mark.parametrize("operation", ["Repository", "PullRequests"])
def test_rate_limited_with_a_200_is_waited_out_and_asked_again(httpserver: HTTPServer, operation: str) -> None:
    """GraphQL's exhausted budget: HTTP 200, `errors: [{type: RATE_LIMITED}]` and no data, the reset in the headers.
    The client waits until the reset, asks the same query again (a repository's first, or a listing's next page),
    and the sync completes."""
    rest = rest_payloads(repo_url(httpserver))
    limited = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}
    headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000",
               "x-ratelimit-reset": str(int(time.time()) + RESET_IN), "x-ratelimit-resource": "graphql"}  # fmt: skip
    asked = serve_literally(httpserver, literal_answers(rest), rest, before={operation: [(limited, headers)]})
    gh = connector(httpserver, "acme/shop", page_size=1)
    waits: list[float] = []
    gh.client.sleep = waits.append
    records, _ = collect(gh, lambda s, p: None)

    assert len(waits) == 1 and RESET_IN - 5 <= waits[0] <= RESET_IN + 2, waits
    again = [variables for asked_operation, variables in asked if asked_operation == operation]
    assert len(again) == 2 and again[0] == again[1], "the rate-limited query, asked again as it was"
    assert {s: len(r) for s, r in records.items()} == {
        "deployments": 1, "deployment_statuses": 2, "pull_requests": 2, "pull_commits": 2, "commits": 2,
    }  # fmt: skip
    assert gh.graphql.queries[operation] == 1, "the refused query is not counted as answered"
