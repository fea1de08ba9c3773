"""The sample server's GitLab GraphQL API: merge requests' commits in GitLab's shapes, paging, limits and errors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from sample_org import Organisation, SampleServer, generate
from sample_org.generator import GitLabProject
from sample_org.gitlab_graphql import GitlabGraphqlApi, gl_time

END = dt.date(2025, 6, 1)
GL = {"PRIVATE-TOKEN": "gl-secret"}
PROJECT = "acme/checkout"

COMMIT_FIELDS = """
fragment CommitFields on Commit {
  sha shortId title message authorName authorEmail authoredDate committerName committerEmail committedDate webUrl
}"""
# The two queries the GitLab connector sends.
MERGE_REQUEST_COMMITS = (
    """query MergeRequestCommits($project: ID!, $iids: [String!], $first: Int!, $commits: Int!) {
  project(fullPath: $project) {
    mergeRequests(iids: $iids, first: $first) {
      pageInfo { hasNextPage endCursor }
      nodes { iid commits(first: $commits) { pageInfo { hasNextPage endCursor } nodes { ...CommitFields } } }
    }
  }
}"""
    + COMMIT_FIELDS
)
MERGE_REQUEST_COMMITS_PAGE = (
    """query MergeRequestCommitsPage($project: ID!, $iid: String!, $first: Int!, $after: String) {
  project(fullPath: $project) {
    mergeRequest(iid: $iid) {
      commits(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { ...CommitFields } }
    }
  }
}"""
    + COMMIT_FIELDS
)
# REST's key for each Commit field the connector reads.
REST_KEYS = {
    "sha": "id",
    "shortId": "short_id",
    "title": "title",
    "message": "message",
    "authorName": "author_name",
    "authorEmail": "author_email",
    "authoredDate": "authored_date",
    "committerName": "committer_name",
    "committerEmail": "committer_email",
    "committedDate": "committed_date",
    "webUrl": "web_url",
}


@pytest.fixture(scope="module")
def org() -> Organisation:
    return generate(n_services=4, days=60, seed=7, end=END, deployment_source="gitlab")


@pytest.fixture(scope="module")
def server(org: Organisation) -> Iterator[SampleServer]:
    with SampleServer(org, tokens={"gitlab": "gl-secret"}) as s:
        yield s


def ask(server: SampleServer, query: str, headers: dict[str, str] | None = None, **variables: Any) -> dict[str, Any]:
    """POST a query to /gitlab/api/graphql (without a socket); every answer, errors included, is a 200."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    response = server.dispatch("POST", "/gitlab/api/graphql", headers or GL, body)
    assert response.status == 200, response.body
    assert "RateLimit-Remaining" in response.headers, "GraphQL counts against REST's per-minute limit"
    return response.body  # type: ignore[return-value]


def rest_commits(server: SampleServer, project_id: int, iid: str) -> list[dict[str, Any]]:
    response = server.dispatch(
        "GET", f"/gitlab/api/v4/projects/{project_id}/merge_requests/{iid}/commits?per_page=100", GL
    )
    assert response.status == 200
    return response.body  # type: ignore[return-value]


def as_rest(commit: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL Commit under REST's keys, its times as REST writes them (with milliseconds)."""
    rest = {REST_KEYS[k]: v for k, v in commit.items()}
    for key in ("authored_date", "committed_date"):
        rest[key] = dt.datetime.fromisoformat(rest[key]).isoformat(timespec="milliseconds")
    return rest


def test_merge_requests_by_iids_hold_the_rest_commits(server: SampleServer, org: Organisation) -> None:
    project = org.gitlab[PROJECT]
    iids = [str(mr["iid"]) for mr in project.merge_requests[::3]]
    answer = ask(server, MERGE_REQUEST_COMMITS, project=PROJECT, iids=[*iids, "99999"], first=100, commits=100)
    assert "errors" not in answer
    connection = answer["data"]["project"]["mergeRequests"]
    assert connection["pageInfo"]["hasNextPage"] is False
    nodes = connection["nodes"]
    newest_first = sorted(project.merge_requests, key=lambda mr: mr["created_at"], reverse=True)
    assert [n["iid"] for n in nodes] == [str(mr["iid"]) for mr in newest_first if str(mr["iid"]) in iids]
    for node in nodes:
        rest = rest_commits(server, project.id, node["iid"])
        assert node["commits"]["pageInfo"]["hasNextPage"] is False
        assert [as_rest(c) for c in node["commits"]["nodes"]] == [{k: c[k] for k in REST_KEYS.values()} for c in rest]
    dates = [c["committedDate"] for n in nodes for c in n["commits"]["nodes"]]
    assert all("." not in d and d[-6] in "+-" for d in dates), "GitLab's Time: iso8601 in the committer's zone"
    assert gl_time("2012-09-20T11:50:22.000+03:00") == "2012-09-20T11:50:22+03:00"


def test_nested_commits_page_through_merge_request(server: SampleServer, org: Organisation) -> None:
    project = org.gitlab[PROJECT]
    iid = next(str(n) for n, commits in project.merge_request_commits.items() if len(commits) >= 3)
    first = ask(server, MERGE_REQUEST_COMMITS, project=PROJECT, iids=[iid], first=1, commits=2)
    connection = first["data"]["project"]["mergeRequests"]["nodes"][0]["commits"]
    shas = [c["sha"] for c in connection["nodes"]]
    while connection["pageInfo"]["hasNextPage"]:
        after = connection["pageInfo"]["endCursor"]
        page = ask(server, MERGE_REQUEST_COMMITS_PAGE, project=PROJECT, iid=iid, first=2, after=after)
        connection = page["data"]["project"]["mergeRequest"]["commits"]
        assert len(connection["nodes"]) <= 2
        shas += [c["sha"] for c in connection["nodes"]]
    assert shas == [c["id"] for c in rest_commits(server, project.id, iid)]  # newest first, as REST


def test_merge_requests_page_newest_created_first() -> None:
    # 150 merge requests, two of them created at the same time: more than a page, and a tie.
    times = [f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}.000Z" for i in range(150)]
    times[101] = times[100]
    project = GitLabProject(
        "acme/big", 1, [{"iid": i + 1, "title": f"MR {i + 1}", "created_at": t} for i, t in enumerate(times)]
    )
    api = GitlabGraphqlApi({"acme/big": project})
    query = """query($after: String) { project(fullPath: "acme/big") { mergeRequests(after: $after) {
      count pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { iid } } } }"""
    page = api.answer(json.dumps({"query": query}).encode(), "token")[0]["data"]["project"]["mergeRequests"]
    assert page["count"] == 150 and len(page["nodes"]) == 100, "without `first` a connection returns 100"
    assert page["pageInfo"]["hasNextPage"] and not page["pageInfo"]["hasPreviousPage"]
    assert [n["iid"] for n in page["nodes"][48:52]] == ["102", "101", "100", "99"], "ties by iid, descending"
    body = json.dumps({"query": query, "variables": {"after": page["pageInfo"]["endCursor"]}}).encode()
    rest = api.answer(body, "token")[0]["data"]["project"]["mergeRequests"]
    assert [n["iid"] for n in page["nodes"] + rest["nodes"]] == [str(i) for i in (150, 149, *range(148, 0, -1))]
    assert not rest["pageInfo"]["hasNextPage"] and rest["pageInfo"]["hasPreviousPage"]


def test_page_size_is_at_most_100(server: SampleServer) -> None:
    too_many = ask(server, MERGE_REQUEST_COMMITS, project=PROJECT, iids=None, first=101, commits=100)
    assert "data" not in too_many
    error = too_many["errors"][0]
    assert "Argument 'first' on Field 'mergeRequests' has an invalid value (101)" in error["message"]
    assert error["path"] == ["project", "mergeRequests"] and "type" not in error
    nested = ask(server, MERGE_REQUEST_COMMITS, project=PROJECT, iids=["1"], first=100, commits=101)
    assert "Field 'commits' has an invalid value (101)" in nested["errors"][0]["message"]
    stale = ask(server, MERGE_REQUEST_COMMITS_PAGE, project=PROJECT, iid="1", first=10, after="not-a-cursor")
    assert stale["errors"][0]["message"] == "Please provide a valid cursor"


def test_complexity_as_gitlab_counts_it(server: SampleServer, org: Organisation) -> None:
    api = GitlabGraphqlApi(org.gitlab)
    iids = [str(mr["iid"]) for mr in org.gitlab[PROJECT].merge_requests]
    iids += [str(i) for i in range(10_000, 10_100 - len(iids))]
    assert len(iids) == 100, "as many as the connector sends at most"
    # Each field 1; a connection not asked by iids twice as much at 100 nodes: commits (1 + pageInfo 3 + nodes 12) x 2.
    connector = {"project": PROJECT, "iids": iids, "first": 100, "commits": 100}
    assert api.complexity(MERGE_REQUEST_COMMITS, connector) == 1 + (1 + 3 + (1 + 1 + 32))
    assert api.complexity(MERGE_REQUEST_COMMITS, connector | {"iids": None}) == 1 + (1 + 3 + (1 + 1 + 32)) * 2
    page = {"project": PROJECT, "iid": "1", "first": 100, "after": None}
    assert api.complexity(MERGE_REQUEST_COMMITS_PAGE, page) == 1 + 1 + 32
    answer = ask(server, MERGE_REQUEST_COMMITS, **connector)
    assert "errors" not in answer and answer["data"]["project"]["mergeRequests"]["nodes"]

    # Each alias: mergeRequests (1 + nodes (1 + commits (1 + nodes (1 + 11)) x 2)) x 2 = 56.
    aliased = " ".join(
        f"m{i}: mergeRequests {{ nodes {{ commits {{ nodes {{ ...CommitFields }} }} }} }}" for i in range(5)
    )
    query = f'query {{ project(fullPath: "{PROJECT}") {{ {aliased} }} }}' + COMMIT_FIELDS
    refused = ask(server, query)
    assert refused == {"errors": [{"message": "Query has complexity of 281, which exceeds max complexity of 250"}]}
    four = query.replace(" m4: mergeRequests { nodes { commits { nodes { ...CommitFields } } } }", "")
    assert "errors" not in ask(server, four), "225 is within the limit"
    assert api.answer(json.dumps({"query": four}).encode(), "")[0]["errors"][0]["message"] == (
        "Query has complexity of 225, which exceeds max complexity of 200"
    ), "without a credential GitLab allows 200"


def test_missing_records_are_null_and_query_errors_come_with_a_200(server: SampleServer) -> None:
    assert ask(server, '{ project(fullPath: "acme/nope") { fullPath } }') == {"data": {"project": None}}
    missing_mr = ask(server, MERGE_REQUEST_COMMITS_PAGE, project=PROJECT, iid="99999", first=10)
    assert missing_mr == {"data": {"project": {"mergeRequest": None}}}
    found = ask(
        server, f'{{ project(fullPath: "{PROJECT}") {{ __typename fullPath mergeRequests(first: 1) {{ count }} }} }}'
    )
    assert found["data"]["project"]["fullPath"] == PROJECT and found["data"]["project"]["__typename"] == "Project"

    unknown = ask(server, f'query {{\n  project(fullPath: "{PROJECT}") {{ stars }}\n}}')
    assert unknown == {
        "errors": [
            {
                "message": "Field 'stars' doesn't exist on type 'Project'",
                "locations": [{"line": 2, "column": 40}],
                "path": ["project", "stars"],
                "extensions": {"code": "undefinedField"},
            }
        ]
    }
    no_rate_limit = ask(server, "{ rateLimit { cost } }")
    assert no_rate_limit["errors"][0]["message"] == "Field 'rateLimit' doesn't exist on type 'Query'"
    wrong_type = ask(server, MERGE_REQUEST_COMMITS, project=PROJECT, iids=[1], first=1, commits=1)
    assert "Expected type '[String!]'" in wrong_type["errors"][0]["message"]
    # A variable declared with another type than its argument's is refused whatever its value, as GitLab does.
    mistyped = MERGE_REQUEST_COMMITS_PAGE.replace("$iid: String!", "$iid: Int!")
    assert mistyped != MERGE_REQUEST_COMMITS_PAGE
    mismatch = ask(server, mistyped, project=PROJECT, iid=1, first=10)
    assert mismatch["errors"][0]["message"] == "Type mismatch on variable $iid and argument iid (Int! / String!)"
    nullable = MERGE_REQUEST_COMMITS.replace("$project: ID!", "$project: ID")  # nullable into a non-null argument
    refused = ask(server, nullable, project=PROJECT, iids=["1"], first=1, commits=1)
    assert refused["errors"][0]["message"] == "Type mismatch on variable $project and argument fullPath (ID / ID!)"
    assert all("type" not in e for e in (unknown["errors"] + wrong_type["errors"] + mismatch["errors"]))
    assert "errors" in ask(server, "mutation { mergeRequestAccept { errors } }")


def test_served_as_gitlab_serves_rest(server: SampleServer) -> None:
    body = json.dumps({"query": '{ project(fullPath: "acme/checkout") { fullPath } }'}).encode()
    assert server.dispatch("GET", "/gitlab/api/graphql", GL).status == 404
    unauthorised = server.dispatch("POST", "/gitlab/api/graphql", {}, body)
    assert unauthorised.status == 401 and unauthorised.body == {"message": "401 Unauthorized"}
    bearer = server.dispatch("POST", "/gitlab/api/graphql", {"Authorization": "Bearer gl-secret"}, body)
    assert bearer.status == 200 and bearer.body == {"data": {"project": {"fullPath": PROJECT}}}
    for path in ("/gitlab/api/v4/graphql", "/gitlab/api/graphql/x", "/gitlab/graphql"):
        assert server.dispatch("POST", path, GL, body).status == 404, path
