"""GitLab specifics: merge requests of every kind landed verbatim, `X-Next-Page` ending the paging, URL-encoded
project paths, incremental filters, commit times with offsets, GitLab's rate-limit headers, and merge requests'
commits read through GraphQL."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors.base import Checkpoint, Record
from connectors.gitlab import GitlabConnector, GitlabMapping, GitlabSettings
from tests.connectors.fakes import (
    TOKEN,
    FakeApi,
    Fault,
    Fixture,
    collect,
    fake_gitlab,
    fake_gitlab_graphql,
    graphql_variables,
    json_response,
    raw_path,
)
from tests.raw.snapshots import raw_rows, sync_into

PROJECT_PATH = "/api/v4/projects/acme%2Fshop"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACT_TOKEN", TOKEN)


def build(server: HTTPServer, graphql: bool = False) -> tuple[GitlabConnector, FakeApi, Fixture]:
    api = FakeApi(server)
    fixture = fake_gitlab_graphql(api) if graphql else fake_gitlab(api)
    settings = GitlabConnector.settings_model.model_validate(fixture.settings)
    gitlab = GitlabConnector(settings, {"shop": GitlabMapping.model_validate(fixture.mappings["shop"])})
    gitlab.client.sleep = lambda seconds: pytest.fail(f"the client waited {seconds}s: no fault should occur")
    return gitlab, api, fixture


def sync(gitlab: GitlabConnector, lower: datetime | None = None) -> tuple[dict[str, list[Record]], list]:
    return collect(gitlab, lambda stream, partition: lower)


def test_merge_requests_of_every_kind_land_verbatim(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A merge commit, a squash (its `squash_commit_sha`), a fast-forward (neither sha): the payload is the API's,
    field for field; staging decides which commit shipped."""
    gitlab, api, _ = build(httpserver)
    sync_into(tmp_path / "w.duckdb", gitlab)
    landed = {
        pk: json.loads(payload) for pk, _, _, payload in raw_rows(tmp_path / "w.duckdb")["raw_gitlab.merge_requests"]
    }
    served = json.loads(api.answer_for(api.requests[0], per_page="100").get_data())
    assert landed == {str(mr["id"]): mr for mr in served}
    kinds = {(mr["squash"], mr["merge_commit_sha"] is None, mr["squash_commit_sha"] is None) for mr in landed.values()}
    assert kinds == {(False, False, True), (True, True, False), (False, True, True)}, "merge, squash, fast-forward"
    assert all(mr["state"] == "merged" and mr["target_branch"] == "main" for mr in landed.values())


def test_x_next_page_empty_ends_each_listing(httpserver: HTTPServer) -> None:
    gitlab, api, fixture = build(httpserver)
    records, _ = sync(gitlab)
    assert len(records["deployments"]) == fixture.expected["deployments"] == 7
    deployment_pages = [r.args.get("page", "1") for r in api.requests if r.path.endswith("/deployments")]
    assert deployment_pages == ["1", "2", "3"], "three pages of three; the empty X-Next-Page of the third ends it"
    commit_pages = [r.args.get("page", "1") for r in api.requests if r.path.endswith("/repository/commits")]
    assert commit_pages == ["1", "2", "3"], "commits send no X-Total: the header alone ends them"


def test_projects_are_addressed_by_their_url_encoded_path(httpserver: HTTPServer) -> None:
    gitlab, api, _ = build(httpserver)
    sync(gitlab)
    assert api.requests and all(raw_path(r).startswith(PROJECT_PATH + "/") for r in api.requests)
    assert all(r.headers["PRIVATE-TOKEN"] == TOKEN for r in api.requests)


def test_incremental_filters(httpserver: HTTPServer) -> None:
    """From a lower bound: merge requests and deployments by `updated_after` with `order_by=updated_at` (GitLab
    wants them paired), oldest first; commits by `since`; the target branch and environment always."""
    gitlab, api, _ = build(httpserver)
    lower = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    records, checkpoints = sync(gitlab, lower)
    first = {
        name: next(r.args for r in api.requests if r.path == f"/api/v4/projects/acme/shop/{name}")
        for name in ("merge_requests", "deployments", "repository/commits")
    }
    assert first["merge_requests"].to_dict() == {
        "state": "merged",
        "target_branch": "main",
        "order_by": "updated_at",
        "sort": "asc",
        "updated_after": "2026-01-05T11:00:00Z",
        "per_page": "3",
    }
    assert first["deployments"]["environment"] == "production"
    assert first["deployments"]["updated_after"] == "2026-01-05T11:00:00Z"
    assert first["deployments"]["order_by"] == "updated_at"
    assert first["repository/commits"].to_dict() == {
        "ref_name": "main",
        "since": "2026-01-05T11:00:00Z",
        "per_page": "3",
    }
    assert all(r.cursor >= lower for r in records["merge_requests"] + records["deployments"])
    updated = [r.cursor for r in records["merge_requests"]]
    assert updated == sorted(updated), "oldest update first"
    assert {cp.partition for cp in checkpoints} == {"acme/shop", "acme/shop@production"}


def test_commit_times_keep_their_offset_and_the_cursor_is_utc(httpserver: HTTPServer) -> None:
    gitlab, _, _ = build(httpserver)
    records, checkpoints = sync(gitlab)
    with_offset = [r for r in records["commits"] if r.payload["committed_date"].endswith("+03:00")]
    assert with_offset, "the fake serves commits committed at +03:00"
    for record in with_offset:
        local = datetime.fromisoformat(record.payload["committed_date"])
        assert record.cursor == local.astimezone(UTC) and record.cursor.tzinfo == UTC
    assert Checkpoint("commits", "acme/shop", max(r.cursor for r in records["commits"])) in checkpoints
    mr_commit = records["merge_request_commits"][0]
    assert mr_commit.payload["authored_date"].endswith("+03:00") and mr_commit.cursor.tzinfo == UTC


def test_429_with_ratelimit_reset_and_no_retry_after_waits_for_the_reset(httpserver: HTTPServer) -> None:
    """GitLab's `RateLimit-Reset` is Unix time: one wait until then, no retry spent before it."""
    gitlab, api, fixture = build(httpserver)
    reset = int(time.time()) + 40
    limited: set[str] = set()

    def exhausted(request: Request) -> Response | None:  # once per page
        if request.full_path in limited:
            return None
        limited.add(request.full_path)
        headers = {"RateLimit-Limit": "2000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
        return json_response({"message": "Retry later"}, 429, headers)

    api.fault = exhausted
    waits: list[float] = []
    gitlab.client.sleep = waits.append
    records, _ = sync(gitlab)
    assert {s: len(r) for s, r in records.items()} == fixture.expected
    assert len(waits) == len(limited)
    assert all(35 <= w <= 42 for w in waits), waits


def test_429_without_any_header_backs_off(httpserver: HTTPServer) -> None:
    """GitLab often sends a 429 without `Retry-After` or `RateLimit-*`: exponential backoff, then on."""
    gitlab, api, fixture = build(httpserver)
    seen: set[str] = set()

    def bare(request: Request) -> Response | None:
        if request.full_path in seen:
            return None
        seen.add(request.full_path)
        return json_response({"message": "Retry later"}, 429)

    api.fault = bare
    waits: list[float] = []
    gitlab.client.sleep = waits.append
    records, _ = sync(gitlab)
    assert {s: len(r) for s, r in records.items()} == fixture.expected
    assert len(waits) == len(seen) and all(0.5 <= w < 1 for w in waits), "the first retry's backoff, with jitter"


def rest_then_graphql(
    httpserver: HTTPServer, fault: Callable[[FakeApi], Fault] | None = None
) -> tuple[dict[str, list[Record]], dict[str, list[Record]], FakeApi, Fixture]:
    """The fixture synced through REST, then through GraphQL (with the fault `fault` makes for the GraphQL fake
    injected): both syncs' records, and the GraphQL fake with the requests it saw."""
    rest, _, _ = build(httpserver)
    rest_records, _ = sync(rest)
    httpserver.clear()  # the REST fake's catch-all route goes: the GraphQL fake answers from here on
    gitlab, api, fixture = build(httpserver, graphql=True)
    api.fault = fault(api) if fault else None
    records, _ = sync(gitlab)
    return rest_records, records, api, fixture


def comparable(records: list[Record]) -> list[tuple[str, datetime | None, str, str]]:
    """Merge request commits in the order they came, each without the fields GraphQL does not have."""
    return [
        (
            r.pk,
            r.cursor,
            json.dumps(r.context, sort_keys=True),
            json.dumps(
                {k: v for k, v in r.payload.items() if k not in ("trailers", "extended_trailers")}, sort_keys=True
            ),
        )
        for r in records
    ]


def test_graphql_reads_the_commits_of_a_batch_of_merge_requests_a_query(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With `api: graphql` no merge request's commits are asked of REST: one query per two merge requests (the
    fixture's `merge_requests_per_query`) by iid, then a query for each further page of a longer one's commits;
    the records are REST's, in REST's order, bar the two fields GraphQL does not have."""
    with caplog.at_level(logging.INFO, logger="connectors.gitlab"):
        rest_records, records, api, fixture = rest_then_graphql(httpserver)
    assert not [r for r in api.requests if r.path.endswith("/commits") and "merge_requests" in r.path]
    queries = [graphql_variables(r) for r in api.requests if graphql_variables(r) is not None]
    batches = [q["iids"] for q in queries if "iids" in q]
    further = [q for q in queries if "iid" in q]
    merged = [str(r.payload["iid"]) for r in records["merge_requests"]]
    assert sorted(i for batch in batches for i in batch) == sorted(merged)
    assert all(1 <= len(batch) <= 2 for batch in batches)
    # Pages of 3 commits: the merge requests with 4 (iid 3 and 7) take a second query, after the first page.
    assert sorted(q["iid"] for q in further) == ["3", "7"] and all(q["after"] for q in further)
    assert len(records["merge_request_commits"]) == fixture.expected["merge_request_commits"]
    assert comparable(records["merge_request_commits"]) == comparable(rest_records["merge_request_commits"])
    summary = f"gitlab GraphQL: {len(queries)} queries: MergeRequestCommits {len(batches)}"
    assert summary in caplog.text
    assert f"read for {len(merged)} parents" in caplog.text, "progress counts merge requests, not queries"


def answered(change: Callable[[dict[str, Any]], None]) -> Callable[[FakeApi], Fault]:
    """A fault that answers each MergeRequestCommits query (the first of a batch) as `change` makes of the fake's
    answer; other requests are answered as usual."""

    def fault(api: FakeApi) -> Fault:
        def answer(request: Request) -> Response | None:
            if "iids" not in (graphql_variables(request) or {}):
                return None
            body = json.loads(api.answer(request).get_data())
            change(body)
            return json_response(body)

        return answer

    return fault


def rest_commit_requests(api: FakeApi) -> list[str]:
    return [r.path for r in api.requests if r.path.endswith("/commits") and "merge_requests" in r.path]


def drop_iid_3(body: dict[str, Any]) -> None:
    listing = body["data"]["project"]["mergeRequests"]
    listing["nodes"] = [n for n in listing["nodes"] if n["iid"] != "3"]


def no_project(body: dict[str, Any]) -> None:
    body["data"]["project"] = None  # GitLab's answer for a path it does not find (REST follows a renamed one)


@pytest.mark.parametrize(
    ("change", "read_through_rest"),
    [(drop_iid_3, {"3"}), (no_project, {"1", "2", "3", "4", "5", "6", "7", "8"})],
    ids=["a merge request left out", "a project not found by its path"],
)
def test_what_graphql_does_not_answer_is_read_through_rest(
    change: Callable[[dict[str, Any]], None],
    read_through_rest: set[str],
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What an answer leaves out is read through REST, with a warning naming it: nothing is skipped, and the
    records are the same, in the same order."""
    with caplog.at_level(logging.WARNING, logger="connectors.gitlab"):
        rest_records, records, api, _ = rest_then_graphql(httpserver, answered(change))
    asked = {path.split("/")[-2] for path in rest_commit_requests(api)}
    assert asked == read_through_rest
    assert comparable(records["merge_request_commits"]) == comparable(rest_records["merge_request_commits"])
    assert "reading their commits through REST" in caplog.text and "!3" in caplog.text


def test_a_gitlab_without_a_field_the_query_asks_for_is_read_through_rest(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """An older GitLab answers a field it does not have with a validation error (HTTP 200): the sync warns once,
    reads every merge request's commits through REST from then on, and lands what REST would."""

    def older_gitlab(api: FakeApi) -> Fault:
        def answer(request: Request) -> Response | None:
            if graphql_variables(request) is None:
                return None
            error = {
                "message": "Field 'committerName' doesn't exist on type 'Commit'",
                "locations": [{"line": 1, "column": 1}],
                "path": ["fragment CommitFields", "committerName"],
                "extensions": {"code": "undefinedField", "typeName": "Commit", "fieldName": "committerName"},
            }
            return json_response({"errors": [error]})

        return answer

    with caplog.at_level(logging.WARNING, logger="connectors.gitlab"):
        rest_records, records, api, _ = rest_then_graphql(httpserver, older_gitlab)
    queries = [r for r in api.requests if graphql_variables(r) is not None]
    # The first page's two batches may both ask (they are read in threads); every later batch goes to REST.
    assert 1 <= len(queries) <= 2
    assert len(rest_commit_requests(api)) >= 8
    assert comparable(records["merge_request_commits"]) == comparable(rest_records["merge_request_commits"])
    assert caplog.text.count("through REST from here on") == 1
    assert "undefinedField: Field 'committerName' doesn't exist on type 'Commit'" in caplog.text


def test_the_graphql_endpoint_beside_the_rest_one() -> None:
    def endpoint(**settings: str) -> str:
        return GitlabSettings.model_validate(settings).graphql_endpoint()

    assert endpoint(api_url="https://gitlab.com/api/v4") == "https://gitlab.com/api/graphql"
    assert endpoint(api_url="https://git.example.com/gitlab/api/v4/") == "https://git.example.com/gitlab/api/graphql"
    assert endpoint(api_url="https://gitlab.com/api/v4", graphql_url="https://gitlab.com/gql/") == (
        "https://gitlab.com/gql"
    )
    assert GitlabSettings(api_url="https://gitlab.com/api/v4").api == "graphql", "GraphQL is the default"
    with pytest.raises(ValueError, match="api_url's scheme, host and port"):
        endpoint(api_url="https://gitlab.com/api/v4", graphql_url="https://elsewhere.example.com/api/graphql")
    with pytest.raises(ValueError, match="merge_requests_per_query"):
        GitlabSettings(api_url="https://gitlab.com/api/v4", merge_requests_per_query=101)
