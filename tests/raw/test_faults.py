"""Fault tests: each source's loopback fake misbehaves mid-pagination, and the raw tables still end up exactly as
a clean run leaves them.

Every test syncs the same fake twice with `sync_source` into two DuckDB files, once clean and once with a fault
injected on pages after the first (where a fault costs the most: pages before it are already committed), and
compares the raw tables row for row. The client's waits are recorded instead of slept, so the tests are fast and
can check how long the client would have waited.
"""

from __future__ import annotations

import json
import re
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors.base import Connector, ServiceMapping, SourceSettings
from connectors.http import ConnectorError
from connectors.pagerduty import MAX_OFFSET, PagerdutyConnector, PagerdutyMapping, PagerdutySettings
from connectors.registry import CONNECTORS
from orchestration.warehouse import connect
from sample_org.github_graphql import cursor_at, cursor_index
from tests.connectors.fakes import (
    FAKES,
    TOKEN,
    FakeApi,
    Fault,
    connector_name,
    fake_names,
    graphql_variables,
    json_response,
    offset_page,
    request_key,
)
from tests.raw.snapshots import raw_rows, sync_into

SOURCES = fake_names()  # every connector, and every other mode of one (GitHub and GitLab through GraphQL)


@dataclass
class Fake:
    """One source's fake on its own loopback server, with the raw tables a clean sync of it leaves."""

    name: str
    api: FakeApi
    settings: SourceSettings
    mappings: dict[str, ServiceMapping]
    expected: dict[str, int]
    clean: dict[str, list[tuple[Any, ...]]]

    def connector(self, waits: list[float]) -> Connector:
        """The connector with its default HTTP settings (real backoff), its waits recorded instead of slept."""
        connector = CONNECTORS[connector_name(self.name)](self.settings, self.mappings)
        connector.client.sleep = waits.append
        return connector


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Fake]]:
    """Each source's fake, synced cleanly once for the module (the fakes are static, so once is enough)."""
    servers, fakes = [], {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONTRACT_TOKEN", TOKEN)
        mp.setenv("CONTRACT_USER", "bot@example.com")
        for name in SOURCES:
            server = HTTPServer()
            server.start()
            servers.append(server)
            api = FakeApi(server)
            fixture = FAKES[name](api)
            cls = CONNECTORS[connector_name(name)]
            settings = cls.settings_model.model_validate(fixture.settings)
            mappings = {svc: cls.mapping_model.model_validate(m) for svc, m in fixture.mappings.items()}
            fake = Fake(name, api, settings, mappings, fixture.expected, {})
            waits: list[float] = []
            db = tmp_path_factory.mktemp(name) / "clean.duckdb"
            sync_into(db, fake.connector(waits))
            assert waits == [], "a clean run never waits"
            fake.clean = raw_rows(db)
            assert sum(map(len, fake.clean.values())) == sum(fixture.expected.values())
            fakes[name] = fake
    yield fakes
    for server in servers:
        server.stop()


def range_start(request: Request) -> int | None:
    """Where a Jenkins `tree=...{M,N}` range starts (M), or None for a request without one."""
    found = re.search(r"\{(\d+),\d*\}$", request.args.get("tree", ""))
    return int(found[1]) if found else None


def later_page(request: Request) -> bool:
    """A page after the first, whichever way the API pages."""
    if (variables := graphql_variables(request)) is not None:  # GraphQL: a cursor to read after
        return variables.get("after") is not None
    args = request.args
    return (
        int(args.get("page", 1)) > 1
        or int(args.get("offset", 0)) > 0
        or "nextPageToken" in args
        or (range_start(request) or 0) > 0
    )


class Injected:
    """Answers the first `times` requests of every later page with `answer`; counts the pages it hit. `only`: the
    requests it may hit (say, one GraphQL query), when not every later page."""

    def __init__(
        self, answer: Callable[[Request], Response], times: int = 1, only: Callable[[Request], bool] | None = None
    ) -> None:
        self.answer = answer
        self.times = times
        self.only = only
        self.seen: dict[str, int] = {}

    def __call__(self, request: Request) -> Response | None:
        if not later_page(request) or (self.only is not None and not self.only(request)):
            return None
        key = request_key(request)
        n = self.seen[key] = self.seen.get(key, 0) + 1
        return self.answer(request) if n <= self.times else None

    @property
    def pages(self) -> int:
        return len(self.seen)


def faulty_run(fake: Fake, fault: Injected, tmp_path: Path) -> list[float]:
    """Sync `fake` with `fault` injected; assert the raw tables equal the clean run's; return the waits."""
    fake.api.fault = fault
    waits: list[float] = []
    try:
        sync_into(tmp_path / "faulty.duckdb", fake.connector(waits))
    finally:
        fake.api.fault = None
    assert fault.pages > 0, "the fault was never injected"
    assert raw_rows(tmp_path / "faulty.duckdb") == fake.clean
    return waits


@pytest.mark.parametrize("name", SOURCES)
def test_429_with_retry_after(name: str, fakes: dict[str, Fake], tmp_path: Path) -> None:
    """A 429 with Retry-After mid-pagination: the client waits as long as the server asks, then goes on."""
    fault = Injected(lambda r: json_response({"message": "Too Many Requests"}, 429, {"Retry-After": "3"}))
    waits = faulty_run(fakes[name], fault, tmp_path)
    assert waits == [3] * fault.pages


@pytest.mark.parametrize("name", SOURCES)
def test_503_burst_backs_off_exponentially_with_jitter(name: str, fakes: dict[str, Fake], tmp_path: Path) -> None:
    """Four 503s in a row with no Retry-After: waits of 0.5, 1, 2, 4 s (each plus up to 0.5 s of jitter)."""
    fault = Injected(lambda r: Response("upstream unavailable", status=503), times=4)
    waits = faulty_run(fakes[name], fault, tmp_path)
    assert len(waits) == 4 * fault.pages
    for base in (0.5, 1, 2, 4):
        assert sum(base <= w < base + 0.5 for w in waits) == fault.pages, f"waits {waits}"


@pytest.mark.parametrize("name", SOURCES)
def test_connection_dropped_mid_page(name: str, fakes: dict[str, Fake], tmp_path: Path) -> None:
    """Headers and half a body arrive, then the connection breaks: the page is asked for again."""

    def half_a_body(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b'{"data": [{"id": '
            raise ConnectionResetError("connection reset by peer")  # werkzeug closes the socket mid-body

        return Response(body(), headers={"Content-Length": "4096"}, content_type="application/json")

    fault = Injected(half_a_body)
    waits = faulty_run(fakes[name], fault, tmp_path)
    assert len(waits) == fault.pages and all(0.5 <= w < 1 for w in waits)


@pytest.mark.parametrize("name", SOURCES)
def test_malformed_json_page(name: str, fakes: dict[str, Fake], tmp_path: Path) -> None:
    """A 200 whose body is not JSON (a proxy's error page, a truncated document) is asked for again."""
    fault = Injected(lambda r: Response("<html>502 Bad Gateway</html>", status=200, content_type="application/json"))
    waits = faulty_run(fakes[name], fault, tmp_path)
    assert len(waits) == fault.pages


@pytest.mark.parametrize("name", SOURCES)
def test_duplicate_records_across_pages(name: str, fakes: dict[str, Fake], tmp_path: Path) -> None:
    """Each later page repeats the previous page's last record (as when records shift under offset paging):
    the raw tables merge on the primary key, so each record lands once."""
    api = fakes[name].api

    def overlapping(request: Request) -> Response:
        args = request.args
        if (variables := graphql_variables(request)) is not None:  # GraphQL: from the cursor one node earlier
            return api.answer_graphql(request, after=cursor_at(cursor_index(variables["after"]) - 1))
        if "offset" in args:  # PagerDuty, Opsgenie: start one record earlier
            return api.answer_for(request, offset=str(int(args["offset"]) - 1))
        if "nextPageToken" in args:  # Jira: the fake's token is an offset
            return api.answer_for(request, nextPageToken=str(int(args["nextPageToken"]) - 1))
        if (start := range_start(request)) is not None:  # Jenkins: the range starts one element earlier
            return api.answer_for(request, tree=re.sub(r"\{\d+,", f"{{{start - 1},", args["tree"]))
        # Page numbers (GitHub, GitHub Actions, GitLab): the last record of the previous page, then this page, its
        # paging headers (Link, X-Next-Page) kept. Actions wraps its list in an object (`workflow_runs`, `jobs`).
        previous = json.loads(api.answer_for(request, page=str(int(args["page"]) - 1)).get_data())
        this = api.answer(request)
        body = json.loads(this.get_data())
        if isinstance(body, list):
            body = previous[-1:] + body
        else:
            listed = next(k for k, v in body.items() if isinstance(v, list))
            body[listed] = previous[listed][-1:] + body[listed]
        paging = {k: v for k, v in this.headers.items() if k == "Link" or k.startswith("X-")}
        return json_response(body, headers=paging)

    fault = Injected(overlapping)
    faulty_run(fakes[name], fault, tmp_path)
    repeated = [r for r in fakes[name].api.requests if later_page(r)]
    assert repeated, "no later pages: nothing was duplicated"


def test_github_rate_limit_reset_is_waited_for(fakes: dict[str, Fake], tmp_path: Path) -> None:
    """403 with `x-ratelimit-remaining: 0`: one wait until `x-ratelimit-reset`, no retries burnt before it."""
    reset_in = 120

    def exhausted(request: Request) -> Response:
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + reset_in)}
        return json_response({"message": "API rate limit exceeded"}, 403, headers)

    fault = Injected(exhausted)
    waits = faulty_run(fakes["github"], fault, tmp_path)
    assert len(waits) == fault.pages
    assert all(reset_in - 5 <= w <= reset_in + 2 for w in waits), waits


def graphql_operation(request: Request) -> str | None:
    """The operation a GraphQL request runs (`Repository`, `Deployments`, ...), or None for a REST request."""
    if graphql_variables(request) is None:
        return None
    found = re.search(r"query (\w+)", json.loads(request.get_data())["query"])
    return found[1] if found else None


def test_github_graphql_rate_limited_with_a_200_is_waited_out(fakes: dict[str, Fake], tmp_path: Path) -> None:
    """GraphQL's primary rate limit: HTTP 200, `errors: [{type: RATE_LIMITED}]`, the reset in the headers. The
    query is asked again after one wait until the reset."""
    reset_in = 60

    def limited(request: Request) -> Response:
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + reset_in)}
        body = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}
        return json_response(body, 200, headers)

    fault = Injected(limited, only=lambda request: graphql_operation(request) is not None)
    waits = faulty_run(fakes["github_graphql"], fault, tmp_path)
    assert len(waits) == fault.pages
    assert all(reset_in - 5 <= w <= reset_in + 2 for w in waits), waits


def test_github_graphql_budget_running_out_waits_for_its_reset(fakes: dict[str, Fake], tmp_path: Path) -> None:
    """An answer whose `rateLimit.remaining` cannot pay for the next query: the client waits until `resetAt` before
    asking it, instead of burning a request on a refusal."""
    reset_in = 120
    api = fakes["github_graphql"].api

    def exhausted(request: Request) -> Response:
        body = json.loads(api.answer(request).get_data())
        reset_at = datetime.fromtimestamp(time.time() + reset_in, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body["data"]["rateLimit"].update(remaining=0, resetAt=reset_at)
        return json_response(body)

    # Deployments' later pages (the first comes with the repository's other listings, in `Repository`): other
    # queries always follow, and each of them is what waits.
    fault = Injected(exhausted, only=lambda request: graphql_operation(request) == "Deployments")
    waits = faulty_run(fakes["github_graphql"], fault, tmp_path)
    assert len(waits) == fault.pages == 2, "two later pages of deployments, each leaving no budget for the next query"
    assert all(reset_in - 5 <= w <= reset_in + 2 for w in waits), waits


GRAPHQL_ERROR = {"type": "SERVICE_UNAVAILABLE", "message": "Something went wrong while executing your query."}


def landed_keys(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, set[str]]:
    return {table: {row[0] for row in found} for table, found in rows.items() if found}


@pytest.mark.parametrize("operation", ["PullRequests", "DeploymentStatuses"])
def test_github_graphql_error_fails_clearly_and_lands_no_half_page(
    operation: str, fakes: dict[str, Fake], tmp_path: Path
) -> None:
    """Any other error with a 200, even beside partial data: a ConnectorError naming the query and GitHub's message,
    nothing of that answer's page landed, no cursor stored past it; the next run completes the tables."""
    fake = fakes["github_graphql"]

    def broken(request: Request) -> Response:
        body = json.loads(fake.api.answer(request).get_data())
        return json_response({**body, "errors": [GRAPHQL_ERROR]})  # the data is all there, and still not landed

    db = tmp_path / "broken.duckdb"
    failed = failed_sync(fake, Injected(broken, times=100, only=lambda r: graphql_operation(r) == operation), db)
    assert f"GitHub GraphQL {operation}" in failed
    assert "SERVICE_UNAVAILABLE: Something went wrong while executing your query." in failed
    # Page 2 of pull requests (#13, #14) failed, or deployment 98's second page of statuses: either way in the
    # sync's first transaction (a sync commits every few thousand records, its cursors with the pages before
    # them), so nothing landed and no cursor was stored; the next run reads it all again.
    assert_nothing_landed_and_a_rerun_completes(fake, db)


def failed_sync(fake: Fake, fault: Fault, db: Path) -> str:
    """Sync `fake` into `db` with `fault` injected, which must fail it with a ConnectorError: its message, which
    must not carry the token."""
    fake.api.fault = fault
    try:
        with pytest.raises(ConnectorError) as failed:
            sync_into(db, fake.connector([]))
    finally:
        fake.api.fault = None
    assert TOKEN not in str(failed.value)
    return str(failed.value)


def assert_nothing_landed_and_a_rerun_completes(fake: Fake, db: Path) -> None:
    assert landed_keys(raw_rows(db)) == {}
    with connect(db, read_only=True) as con:
        stored = {stream for (stream,) in con.execute("select stream from raw_state.cursors").fetchall()}
    assert stored == set(), "no cursor past a failed page"
    sync_into(db, fake.connector([]))
    assert raw_rows(db) == fake.clean


@pytest.mark.parametrize("operation", ["MergeRequestCommits", "MergeRequestCommitsPage"])
def test_gitlab_graphql_error_fails_clearly_and_lands_nothing(
    operation: str, fakes: dict[str, Fake], tmp_path: Path
) -> None:
    """GitLab answers a query it refuses with a 200 and `errors` (no `type`, unlike GitHub): a ConnectorError naming
    the query and GitLab's message, nothing of the sync landed, no cursor stored; the next run completes the tables.
    The first query of a batch and a merge request's further page of commits alike."""
    fake = fakes["gitlab_graphql"]
    refused = {"message": "Query has complexity of 301, which exceeds max complexity of 250"}

    def broken(request: Request) -> Response | None:
        if graphql_operation(request) != operation:
            return None
        return json_response({"data": None, "errors": [refused]})

    db = tmp_path / "broken.duckdb"
    failed = failed_sync(fake, broken, db)
    assert f"GitLab GraphQL {operation}" in failed
    assert refused["message"] in failed
    # The fake's first page of merge requests asks for both queries, in the sync's first transaction.
    assert_nothing_landed_and_a_rerun_completes(fake, db)


def test_pagerduty_window_holding_more_than_10000_incidents(httpserver: HTTPServer, tmp_path: Path) -> None:
    """PagerDuty answers 400 past offset+limit 10,000: a window holding 10,050 incidents is read as two halves,
    and every incident lands once, payload verbatim, as a clean run against an API without the ceiling would.

    (Here the clean run's tables are written out rather than synced: a second sync of 10,050 records would
    double the test's time and prove nothing more.)
    """
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(hours=47)
    incidents = [
        {
            "id": f"Q{i:06d}",
            "type": "incident",
            "status": "resolved",
            "created_at": (first + timedelta(seconds=16 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "service": {"id": "PSVC1", "type": "service_reference"},
        }
        for i in range(MAX_OFFSET + 50)
    ]
    created = [i["created_at"] for i in incidents]  # sorted: windows are found by bisection, not by a scan
    windows: list[tuple[str, str]] = []

    def listing(request: Request, m: re.Match) -> Response:
        since, until = request.args["since"], request.args["until"]
        if request.args.get("offset", "0") == "0":
            windows.append((since, until))
        found = incidents[bisect_left(created, since) : bisect_left(created, until)]
        return offset_page(request, "incidents", found)  # 400 past offset+limit 10,000, like PagerDuty

    api = FakeApi(httpserver)
    api.route("/incidents", listing)
    api.route("/log_entries", lambda r, m: json_response({"log_entries": [], "limit": 100, "offset": 0, "more": False}))
    api.route("/users", lambda r, m: json_response({"users": [], "limit": 100, "offset": 0, "more": False}))
    settings = PagerdutySettings(api_url=httpserver.url_for("/"), page_size=100, history_days=2)  # one window
    connector = PagerdutyConnector(settings, {"shop": PagerdutyMapping(service_id="PSVC1")})
    connector.client.sleep = lambda seconds: pytest.fail(f"the client waited {seconds}s: no fault should occur")
    sync_into(tmp_path / "w.duckdb", connector)

    landed = raw_rows(tmp_path / "w.duckdb")["raw_pagerduty.incidents"]
    assert [(pk, cursor, json.loads(context), json.loads(payload)) for pk, cursor, context, payload in landed] == [
        (i["id"], datetime.fromisoformat(i["created_at"]), {}, i) for i in incidents
    ]
    assert len(windows) == 3, "the window, then its two halves"
    assert 400 not in [response.status_code for _, response in httpserver.log], "never asked past the ceiling"
    # The fake's ceiling is real: asking past it is refused the way PagerDuty refuses it.
    probe = next(r for r in api.requests if r.path == "/incidents")
    assert api.answer_for(probe, offset=str(MAX_OFFSET), since=windows[0][0], until=windows[0][1]).status_code == 400
