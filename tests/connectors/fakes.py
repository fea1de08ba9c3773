"""Loopback fakes of each source API for the connector contract suite, built from the recorded example payloads.

Each `fake_<source>` registers routes on a pytest-httpserver and returns the settings and service mappings a
connector needs. `FakeApi(faults=True)` answers the first request to every path with a 429 (Retry-After: 0)
and the second with a 503, so every connector's retry path runs for real; `FakeApi.fault` injects any other
fault (see tests/raw/test_faults.py).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from werkzeug.test import EnvironBuilder

from tests.conftest import example

TOKEN = "contract-secret-token-123"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

Handler = Callable[[Request, re.Match], Response]
Fault = Callable[[Request], Response | None]  # answers instead of the fake when it returns a response


def ts(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def jira_ts(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


class FakeApi:
    """Routes requests by path regex; optionally injects a 429 then a 503 before each path's first answer."""

    def __init__(self, server: HTTPServer, faults: bool = False) -> None:
        self.server = server
        self.faults = faults
        self.routes: list[tuple[re.Pattern[str], Handler]] = []
        self.seen: dict[str, int] = {}
        self.requests: list[Request] = []
        self.fault: Fault | None = None
        server.expect_request(re.compile(".*")).respond_with_handler(self.dispatch)

    def route(self, pattern: str, handler: Handler) -> None:
        self.routes.append((re.compile(pattern + "$"), handler))

    def dispatch(self, request: Request) -> Response:
        self.requests.append(request)
        key = request.full_path
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.faults and self.seen[key] == 1:
            return json_response({"message": "slow down"}, 429, {"Retry-After": "0"})
        if self.faults and self.seen[key] == 2:
            return Response("upstream unavailable", status=503)
        if self.fault is not None and (answer := self.fault(request)) is not None:
            return answer
        return self.answer(request)

    def answer(self, request: Request) -> Response:
        """What the fake answers to `request`, without faults."""
        for pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match:
                return handler(request, match)
        return json_response({"message": "Not Found"}, 404)

    def answer_for(self, request: Request, **args: Any) -> Response:
        """What the fake answers to `request` with some query parameters replaced (e.g. an earlier page)."""
        query = [(k, v) for k, v in request.args.items(multi=True) if k not in args] + list(args.items())
        environ = EnvironBuilder(path=request.path, query_string=urlencode(query), base_url=request.host_url)
        return self.answer(Request(environ.get_environ()))


def link_page(request: Request, items: list[Any], server: HTTPServer) -> Response:
    """GitHub-style paging: `page`/`per_page`, absolute `Link` to the next page."""
    per_page = int(request.args.get("per_page", 30))
    page = int(request.args.get("page", 1))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):
        query = {**request.args.to_dict(), "page": page + 1}
        headers["Link"] = f'<{server.url_for(request.path)}?{urlencode(query)}>; rel="next"'
    return json_response(chunk, headers=headers)


@dataclass
class Fixture:
    settings: dict[str, Any]
    mappings: dict[str, dict[str, Any]]
    expected: dict[str, int]  # records per stream a full sync must deliver


def fake_github(api: FakeApi) -> Fixture:
    deployment = example("github/deployments")[0]
    status = example("github/deployment_statuses")[0]
    pull = example("github/pulls")[0]
    commit = example("github/commits")[0]
    deployments = []
    for i in range(7):  # newest first, as GitHub lists them
        d = copy.deepcopy(deployment)
        d.update(id=100 - i, sha=f"{i:040x}", created_at=ts(-60 * i), updated_at=ts(-60 * i))
        deployments.append(d)
    pulls = []
    for i in range(5):
        p = copy.deepcopy(pull)
        p.update(id=500 + i, number=10 + i, updated_at=ts(-30 * i), merged_at=ts(-30 * i) if i != 2 else None)
        pulls.append(p)
    commits = []
    for i in range(6):
        c = copy.deepcopy(commit)
        c["sha"] = f"{1000 + i:040x}"
        c["commit"]["committer"]["date"] = c["commit"]["author"]["date"] = ts(-20 * i)
        commits.append(c)

    def statuses(request: Request, m: re.Match) -> Response:
        dep = int(m["dep"])
        items = []
        for j, state in enumerate(("success", "in_progress")):
            s = copy.deepcopy(status)
            s.update(id=dep * 10 + j, state=state, created_at=ts(5 - j))
            items.append(s)
        return link_page(request, items, api.server)

    def pull_commits(request: Request, m: re.Match) -> Response:
        items = []
        for j in range(2):
            c = copy.deepcopy(commit)
            c["sha"] = f"{int(m['n']) * 100 + j:040x}"
            items.append(c)
        return link_page(request, items, api.server)

    repo = r"/repos/acme/shop"
    api.route(repo + "/deployments", lambda r, m: link_page(r, deployments, api.server))
    api.route(repo + r"/deployments/(?P<dep>\d+)/statuses", statuses)
    api.route(repo + "/pulls", lambda r, m: link_page(r, pulls, api.server))
    api.route(repo + r"/pulls/(?P<n>\d+)/commits", pull_commits)
    api.route(repo + "/commits", lambda r, m: link_page(r, commits, api.server))
    return Fixture(
        settings={"api_url": api.server.url_for("/"), "token": "env:CONTRACT_TOKEN", "page_size": 3},
        mappings={"shop": {"repo": "acme/shop"}},
        expected={
            "deployments": 7,
            "deployment_statuses": 14,
            "pull_requests": 5,
            "pull_commits": 8,
            "commits": 6,
        },
    )


def offset_page(request: Request, key: str, items: list[Any]) -> Response:
    offset = int(request.args.get("offset", 0))
    limit = int(request.args.get("limit", 25))
    if offset + limit > 10_000:
        return json_response({"error": {"message": "Invalid Input Provided", "code": 2002}}, 400)
    chunk = items[offset : offset + limit]
    return json_response(
        {key: chunk, "limit": limit, "offset": offset, "more": offset + limit < len(items), "total": None}
    )


def in_window(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    since, until = request.args.get("since"), request.args.get("until")
    return [i for i in items if (not since or i["created_at"] >= since) and (not until or i["created_at"] < until)]


def fake_pagerduty(api: FakeApi) -> Fixture:
    incident = example("pagerduty/incidents")["incidents"][0]
    entry = example("pagerduty/log_entries")["log_entries"][0]
    incidents, entries = [], []
    now = datetime.now(UTC).replace(microsecond=0)  # PagerDuty syncs reach back from now
    for i in range(12):
        created = (now - timedelta(hours=10 * i + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        inc = copy.deepcopy(incident)
        inc.update(id=f"PINC{i:03d}", created_at=created)
        inc["service"]["id"] = "PSVC1"
        incidents.append(inc)
        e = copy.deepcopy(entry)
        e.update(id=f"LOG{i:03d}", created_at=created)
        e["incident"]["id"] = inc["id"]
        entries.append(e)
    incidents.sort(key=lambda x: x["created_at"])
    api.route("/incidents", lambda r, m: offset_page(r, "incidents", in_window(r, incidents)))
    api.route("/log_entries", lambda r, m: offset_page(r, "log_entries", in_window(r, entries)))
    return Fixture(
        settings={
            "api_url": api.server.url_for("/"),
            "token": "env:CONTRACT_TOKEN",
            "page_size": 3,  # windows of 2 days hold about 5 incidents: two pages each
            "history_days": 6,
            "window_days": 2,
        },
        mappings={"shop": {"service_id": "PSVC1"}},
        expected={"incidents": 12, "log_entries": 12},
    )


def fake_jira(api: FakeApi) -> Fixture:
    issue = example("jira/search", "search_jql_value")["issues"][0]
    issues = []
    for i in range(7):
        it = copy.deepcopy(issue)
        it.update(id=str(20000 + i), key=f"SHOP-{i}")
        it["fields"].update(created=jira_ts(i), updated=jira_ts(i * 10))
        issues.append(it)

    def search(request: Request, m: re.Match) -> Response:
        size = int(request.args.get("maxResults", 50))
        start = int(request.args.get("nextPageToken") or 0)
        chunk = issues[start : start + size]
        last = start + size >= len(issues)
        body: dict[str, Any] = {"issues": chunk, "isLast": last}
        if not last:
            body["nextPageToken"] = str(start + size)
        return json_response(body)

    api.route("/rest/api/3/search/jql", search)
    return Fixture(
        settings={
            "api_url": api.server.url_for("/"),
            "token": "env:CONTRACT_TOKEN",
            "user": "env:CONTRACT_USER",
            "page_size": 3,
        },
        mappings={"shop": {"project": "SHOP"}},
        expected={"reviews": 7, "actions": 7},
    )


def og_ts(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fake_opsgenie(api: FakeApi) -> Fixture:
    """`/v2/alerts` and `/v1/incidents`: `query=teams:<name> [AND updatedAt>=<ms>]`, offset paging, `paging.next`.

    The recorded examples repeat one id in both items; here every record gets its own id, and both example
    shapes are used (a closed alert with its millisecond `report`, an open one without).
    """
    alert_examples = example("opsgenie/alerts")["data"]
    incident_example = example("opsgenie/incidents")["data"][0]
    teams = {"shop-oncall": "team-shop", "other-oncall": "team-other"}

    def records(template: list[dict[str, Any]], n: int, team_of: Callable[[int], str], prefix: str) -> list[dict]:
        items = []
        for i in range(n):
            item = copy.deepcopy(template[i % len(template)])
            item.update(
                id=f"{prefix}-{i:04d}",
                tinyId=str(i),
                createdAt=og_ts(i * 7),
                updatedAt=og_ts(i * 7 + (30 if i % 3 else 3)),  # update order differs from creation order
                responders=[{"type": "team", "id": teams[team_of(i)]}],
            )
            items.append(item)
        return items

    alerts = records(alert_examples, 9, lambda i: "other-oncall" if i in (4, 8) else "shop-oncall", "alert")
    incidents = records([incident_example], 5, lambda i: "other-oncall" if i == 2 else "shop-oncall", "incident")

    def listing(items: list[dict[str, Any]]) -> Callable[[Request, re.Match], Response]:
        def handler(request: Request, m: re.Match) -> Response:
            found = items
            for term in re.split(r"\s+AND\s+", request.args.get("query", "").strip()):
                if term.startswith("teams:"):
                    team_id = teams.get(term.removeprefix("teams:"))
                    found = [x for x in found if any(r["id"] == team_id for r in x["responders"])]
                elif term.startswith("updatedAt>="):
                    bound = datetime.fromtimestamp(int(term.removeprefix("updatedAt>=")) / 1000, UTC)
                    found = [x for x in found if datetime.fromisoformat(x["updatedAt"]) >= bound]
                elif term:
                    return json_response({"message": f"Invalid query: {term}"}, 422)
            sort, order = request.args.get("sort", "createdAt"), request.args.get("order", "desc")
            found = sorted(found, key=lambda x: (x[sort], x["id"]), reverse=order == "desc")
            offset, limit = int(request.args.get("offset", 0)), int(request.args.get("limit", 20))
            paging = {"first": api.server.url_for(request.path)}
            if offset + limit < len(found):
                query = {**request.args.to_dict(), "offset": offset + limit, "limit": limit}
                paging["next"] = f"{api.server.url_for(request.path)}?{urlencode(query)}"
            body = {"data": found[offset : offset + limit], "paging": paging, "took": 0.01, "requestId": "r"}
            return json_response(body, headers={"X-Paging-Next": paging["next"]} if "next" in paging else {})

        return handler

    api.route("/v2/alerts", listing(alerts))
    api.route("/v1/incidents", listing(incidents))
    return Fixture(
        settings={"api_url": api.server.url_for("/"), "token": "env:CONTRACT_TOKEN", "page_size": 3},
        mappings={"shop": {"team": "shop-oncall"}},
        expected={"alerts": 7, "incidents": 4},
    )


FAKES: dict[str, Callable[[FakeApi], Fixture]] = {
    "github": fake_github,
    "pagerduty": fake_pagerduty,
    "jira": fake_jira,
    "opsgenie": fake_opsgenie,
}
