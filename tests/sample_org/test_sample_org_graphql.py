"""The sample server's GitHub GraphQL API: GitHub's shapes, paging, limits, costs and errors (all with HTTP 200)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.github_graphql import (
    COMMITS,
    DEPLOYMENT_STATUSES,
    DEPLOYMENTS,
    PULL_COMMITS,
    PULL_REQUESTS,
    REPOSITORY,
)
from sample_org import Organisation, SampleServer
from sample_org.generator import GitHubRepo
from sample_org.github_graphql import MAX_NODES, GraphqlApi, _Repo

GH = {"Authorization": "Bearer gh-secret"}


@pytest.fixture(scope="module")
def server(org: Organisation) -> Iterator[SampleServer]:
    with SampleServer(org, tokens={"github": "gh-secret"}) as s:
        yield s


def ask(server: SampleServer, query: str, headers: dict[str, str] | None = None, **variables: Any) -> dict[str, Any]:
    """POST a query to /github/graphql (without a socket); every answer, errors included, is a 200."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    response = server.dispatch("POST", "/github/graphql", headers or GH, body)
    assert response.status == 200, response.body
    return response.body  # type: ignore[return-value]


def test_deployments_with_their_statuses_page_by_cursor(server: SampleServer, org: Organisation) -> None:
    repo = org.github["acme/checkout"]
    seen, after, pages = [], None, 0
    while True:
        answer = ask(server, DEPLOYMENTS, owner="acme", name="checkout", first=40, statuses=40, after=after)
        assert "errors" not in answer
        connection = answer["data"]["repository"]["deployments"]
        seen += connection["nodes"]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == -(-len(repo.deployments) // 40)
    assert [d["databaseId"] for d in seen] == [d["id"] for d in repo.deployments]  # newest first, as asked
    first = seen[0]
    rest = repo.deployments[0]
    assert (first["commitOid"], first["environment"], first["createdAt"]) == (rest["sha"], rest["environment"],
                                                                             rest["created_at"])  # fmt: skip
    statuses = first["statuses"]["nodes"]
    assert [s["id"] for s in statuses] == [s["node_id"] for s in repo.statuses[rest["id"]][::-1]]  # oldest first
    assert {s["state"] for d in seen for s in d["statuses"]["nodes"]} <= {"QUEUED", "IN_PROGRESS", "SUCCESS", "FAILURE"}
    bots = [d["creator"] for d in seen if d["creator"]["__typename"] == "Bot"]
    assert bots and all(not b["login"].endswith("[bot]") for b in bots), "GraphQL names a bot without [bot]"


def test_nested_connection_pages_through_node(server: SampleServer, org: Organisation) -> None:
    repo = org.github["acme/checkout"]
    deployment = next(d for d in repo.deployments if len(repo.statuses[d["id"]]) == 3)
    ids, after = [], None
    while True:
        answer = ask(server, DEPLOYMENT_STATUSES, id=deployment["node_id"], first=2, after=after)
        connection = answer["data"]["node"]["statuses"]
        ids += [s["id"] for s in connection["nodes"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert ids == [s["node_id"] for s in repo.statuses[deployment["id"]][::-1]]


def test_pull_requests_with_their_commits(server: SampleServer, org: Organisation) -> None:
    repo = org.github["acme/checkout"]
    answer = ask(server, PULL_REQUESTS, owner="acme", name="checkout", first=100, commits=10)
    pulls = answer["data"]["repository"]["pullRequests"]["nodes"]
    closed = sorted((p for p in repo.pulls if p["state"] == "closed"), key=lambda p: (p["updated_at"], p["number"]))
    assert [p["number"] for p in pulls] == [p["number"] for p in closed[::-1]][:100]
    merged = next(p for p in pulls if p["state"] == "MERGED")
    rest = next(p for p in repo.pulls if p["number"] == merged["number"])
    assert merged["mergeCommit"] == {"oid": rest["merge_commit_sha"]} and merged["potentialMergeCommit"] is None
    commits = repo.pull_commits[rest["number"]]
    assert merged["commits"]["totalCount"] == len(commits)
    nested = [n["commit"] for n in merged["commits"]["nodes"]]
    assert [c["oid"] for c in nested] == [c["sha"] for c in commits][:10]
    assert nested[0]["parents"]["nodes"] == [{"oid": p["sha"]} for p in commits[0]["parents"]][:2]
    assert nested[0]["authoredDate"] == commits[0]["commit"]["author"]["date"]
    more = ask(server, PULL_COMMITS, id=rest["node_id"], first=1)["data"]["node"]["commits"]
    assert [n["commit"]["oid"] for n in more["nodes"]] == [commits[0]["sha"]]
    assert more["pageInfo"]["hasNextPage"] == (len(commits) > 1)


def test_cost_is_the_connections_opened_over_100(server: SampleServer) -> None:
    # 1 deployments connection + 100 statuses connections: 101 requests, 1 point.
    deployments = ask(server, DEPLOYMENTS, owner="acme", name="checkout", first=100, statuses=100)["data"]["rateLimit"]
    assert deployments["cost"] == 1
    # 1 + 100 commits connections + 100 x 10 parents connections: 1,101 requests, 11 points.
    pulls = ask(server, PULL_REQUESTS, owner="acme", name="checkout", first=100, commits=10)["data"]["rateLimit"]
    assert pulls["cost"] == 11
    assert pulls["remaining"] == deployments["remaining"] - 11, "each query's cost comes off the budget"
    assert pulls["resetAt"].endswith("Z")


def test_every_listing_in_one_query_costs_their_connections_summed(server: SampleServer) -> None:
    """`Repository` asks the first page of deployments, pull requests and the branch's history at once: each is the
    page its own query answers, and the query is charged as GitHub charges several connections, their requests
    summed before they are divided by 100."""
    asked = {"owner": "acme", "name": "checkout", "statuses": 100, "commits": 10, "branch": "main", "since": None}
    answer = ask(server, REPOSITORY, deployments=100, pulls=100, history=100, **asked)
    assert "errors" not in answer
    repository = answer["data"]["repository"]
    apart = {
        "deployments": ask(server, DEPLOYMENTS, owner="acme", name="checkout", first=100, statuses=100),
        "pullRequests": ask(server, PULL_REQUESTS, owner="acme", name="checkout", first=100, commits=10),
        "ref": ask(server, COMMITS, owner="acme", name="checkout", branch="main", first=100),
    }
    for listing, alone in apart.items():
        assert repository[listing] == alone["data"]["repository"][listing], listing
    assert repository["isEmpty"] is False and repository["ref"]["target"]["history"]["nodes"]
    # 1 + 100 statuses, 1 + 100 commits + 1,000 parents, 1 + 100 parents: 1,303 requests, 13 points, what the three
    # queries cost apart (1 + 11 + 1).
    assert answer["data"]["rateLimit"]["cost"] == 13 == sum(a["data"]["rateLimit"]["cost"] for a in apart.values())
    # A later sync's first pages, 10 deployments and 10 pull requests: 11 + 111 + 101 requests, 2 points (apart,
    # three queries of at least one point each).
    later = ask(server, REPOSITORY, deployments=10, pulls=10, history=100, **asked)
    assert later["data"]["rateLimit"]["cost"] == 2


def test_pagination_limits_as_github_refuses_them(server: SampleServer) -> None:
    missing = ask(server, 'query { repository(owner: "acme", name: "checkout") { deployments { nodes { id } } } }')
    assert "data" not in missing
    assert missing["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert "You must provide a `first` or `last` value" in missing["errors"][0]["message"]
    too_many = ask(server, DEPLOYMENTS, owner="acme", name="checkout", first=101, statuses=100)
    assert too_many["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert "exceeds the `first` limit of 100 records" in too_many["errors"][0]["message"]
    stale = ask(server, DEPLOYMENTS, owner="acme", name="checkout", first=10, statuses=10, after="not-a-cursor")
    assert "does not appear to be a valid cursor" in stale["errors"][0]["message"]


def test_node_limit_is_refused(server: SampleServer) -> None:
    query = """query { repository(owner: "acme", name: "checkout") {
      pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit {
        parents(first: 100) { nodes { oid } } } } } } } } }"""
    answer = ask(server, query)
    assert "data" not in answer
    error = answer["errors"][0]
    assert error["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert f"exceeds the maximum limit of {MAX_NODES:,}" in error["message"]


def test_errors_come_with_a_200(server: SampleServer) -> None:
    unknown = ask(server, 'query { repository(owner: "acme", name: "nope") { nameWithOwner } }')
    assert unknown["data"] == {"repository": None}
    assert unknown["errors"][0]["type"] == "NOT_FOUND"
    assert unknown["errors"][0]["path"] == ["repository"]
    no_field = ask(server, 'query { repository(owner: "acme", name: "checkout") { stars } }')
    assert no_field["errors"][0]["message"] == "Field 'stars' doesn't exist on type 'Repository'"
    mutation = ask(server, "mutation { addStar { id } }")
    assert "errors" in mutation and "data" not in mutation
    parse_error = ask(server, "query { repository(")
    assert parse_error["errors"][0]["message"].startswith("Parse error")


def test_authentication_as_rest(server: SampleServer) -> None:
    response = server.dispatch("POST", "/github/graphql", {}, b'{"query": "query { rateLimit { cost } }"}')
    assert response.status == 401 and response.body["message"] == "Bad credentials"  # type: ignore[index]


def test_an_exhausted_budget_answers_rate_limited() -> None:
    repo = GitHubRepo("acme/tiny")
    api = GraphqlApi({"acme/tiny": repo}, points_per_hour=2)
    body = json.dumps(
        {"query": DEPLOYMENTS, "variables": {"owner": "acme", "name": "tiny", "first": 1, "statuses": 1}}
    ).encode()
    answers = [api.answer(body, "token")[0] for _ in range(3)]
    assert [a["data"]["rateLimit"]["remaining"] for a in answers[:2]] == [1, 0]
    assert answers[2]["errors"][0]["type"] == "RATE_LIMITED" and "data" not in answers[2]
    assert api.answer(body, "another token")[0]["data"]["rateLimit"]["remaining"] == 1, "budgets are per credential"


def test_history_since_is_the_commits_committed_since(org: Organisation) -> None:
    """`history(since:)` bisects the dates of a mainline listed newest first; any other order, or a mainline changed
    after start-up, is filtered commit by commit. Each selects exactly the commits committed at or after `since`."""
    data = next(r for r in org.github.values() if any(a == b for a, b in itertools.pairwise(_dates(r))))
    dates = _dates(data)
    assert dates == sorted(dates, reverse=True)
    ordered = _Repo.of("a/b", data)
    shuffled = _Repo.of("a/b", dataclasses.replace(data, commits=data.commits[1:] + data.commits[:1]))
    assert ordered.dates_ascending is not None and shuffled.dates_ascending is None
    shared = next(a for a, b in itertools.pairwise(dates) if a == b)  # a date two commits share: the left edge
    between = (dt.datetime.fromisoformat(dates[3]) - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for since in [dates[0], shared, between, dates[-1], "1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z"]:
        for repo in (ordered, shuffled):
            assert repo.history_since(since) == [c for c in repo.data.commits if _date(c) >= since], since
    grown = _Repo.of("a/b", dataclasses.replace(data, commits=list(data.commits)))
    old = dict(data.commits[0], sha="f" * 40, commit={"committer": {"date": "1970-01-01T00:00:00Z"}})
    grown.data.commits.insert(0, old)  # after start-up, and out of order: its index no longer fits
    assert grown.history_since(dates[0]) == [c for c in grown.data.commits if _date(c) >= dates[0]]


def _date(commit: dict[str, Any]) -> str:
    return commit["commit"]["committer"]["date"]


def _dates(repo: GitHubRepo) -> list[str]:
    return [_date(c) for c in repo.commits]
