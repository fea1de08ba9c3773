"""Loopback fakes of each source API for the connector contract suite, built from the recorded example payloads.

Each `fake_<source>` registers routes on a pytest-httpserver and returns the settings and service mappings a
connector needs. `FakeApi(faults=True)` answers the first request to every path with a 429 (Retry-After: 0)
and the second with a 503, so every connector's retry path runs for real; `FakeApi.fault` injects any other
fault (see tests/raw/test_faults.py).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from werkzeug.test import EnvironBuilder

from connectors.base import Bookmark, Checkpoint, Connector, Page, Record
from connectors.registry import CONNECTORS
from connectors.timeparse import parse_timestamp
from sample_org.generator import GitHubRepo, GitLabProject
from sample_org.github_graphql import POINTS_PER_HOUR, GraphqlApi
from sample_org.gitlab_graphql import GitlabGraphqlApi
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
        key = request_key(request)
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
        query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in args] + list(args.items()))
        path = raw_path(request)  # as sent: `request.path` is decoded, and a `%2F` in it would become a `/`
        environ = EnvironBuilder(
            path=path,
            query_string=query,
            base_url=request.host_url,
            headers=[(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")],
            environ_overrides={"RAW_URI": f"{path}?{query}"},
        )
        return self.answer(Request(environ.get_environ()))

    def answer_graphql(self, request: Request, **variables: Any) -> Response:
        """What the fake answers to the GraphQL query `request` with some of its variables replaced."""
        body = json.loads(request.get_data())
        body["variables"] = {**(body.get("variables") or {}), **variables}
        environ = EnvironBuilder(
            path=request.path,
            method="POST",
            data=json.dumps(body),
            base_url=request.host_url,
            headers=[(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")],
        )
        return self.answer(Request(environ.get_environ()))


def request_key(request: Request) -> str:
    """What tells two requests apart: the path and query, and a POST's body (every GraphQL query has one path)."""
    return request.full_path + (request.get_data(as_text=True) if request.method == "POST" else "")


def graphql_variables(request: Request) -> dict[str, Any] | None:
    """The variables of a GraphQL query (a POST to /graphql), or None for any other request."""
    if request.method != "POST" or not request.path.endswith("/graphql"):
        return None
    return json.loads(request.get_data() or b"{}").get("variables") or {}


def raw_path(request: Request) -> str:
    """The request's path as the client sent it, still URL-encoded (werkzeug's `request.path` is decoded)."""
    return request.environ.get("RAW_URI", quote(request.path)).split("?", 1)[0]


def link_page(
    request: Request, items: list[Any], server: HTTPServer, key: str | None = None, total: int | None = None
) -> Response:
    """GitHub-style paging: `page`/`per_page`, absolute `Link` to the next page. With `key`, the page is an object
    as GitHub Actions answers, `{"total_count": total, key: [...]}` (total: all the items, unless told)."""
    per_page = int(request.args.get("per_page", 30))
    page = int(request.args.get("page", 1))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):
        query = {**request.args.to_dict(), "page": page + 1}
        headers["Link"] = f'<{server.url_for(request.path)}?{urlencode(query)}>; rel="next"'
    body = chunk if key is None else {"total_count": len(items) if total is None else total, key: chunk}
    return json_response(body, headers=headers)


def collect(
    connector: Connector, since: Callable[[str, str], Bookmark | None]
) -> tuple[dict[str, list[Record]], list[Checkpoint]]:
    """Run `connector.sync(since)`: the records of each stream, in the order delivered, and the checkpoints."""
    records: dict[str, list[Record]] = {}
    checkpoints: list[Checkpoint] = []
    for event in connector.sync(since):
        if isinstance(event, Page):
            records.setdefault(event.stream, []).extend(event.records)
        else:
            checkpoints.append(event)
    return records, checkpoints


@dataclass
class Fixture:
    settings: dict[str, Any]
    mappings: dict[str, dict[str, Any]]
    expected: dict[str, int]  # records per stream a full sync must deliver


def legacy_node_id(kind: str, key: object) -> str:
    """A GraphQL node id in GitHub's legacy form (`MDE2OkRlcGxveW1lbnRTdGF0dXMx` for DeploymentStatus 1): the
    recorded examples repeat theirs, and the GraphQL fake finds nodes, and the connector status ids, by it."""
    return base64.b64encode(f"0{len(kind)}:{kind}{key}".encode()).decode()


def github_repo(full_name: str = "acme/shop", shift: int = 0) -> GitHubRepo:
    """One repository's records in their REST shapes, from the recorded examples: what both GitHub fakes serve.

    Pages are 3 records: deployment 98 has 4 statuses and pull request 11 has 4 commits, so nested lists page too.
    `shift` is added to every id and commit number: repositories served together share none, as on GitHub.
    """
    deployment = example("github/deployments")[0]
    status = example("github/deployment_statuses")[0]
    pull = example("github/pulls")[0]
    commit = example("github/commits")[0]
    repo = GitHubRepo(full_name)
    for i in range(7):  # newest first, as GitHub lists them
        d = copy.deepcopy(deployment)
        deployment_id = shift + 100 - i
        d.update(id=deployment_id, node_id=legacy_node_id("Deployment", deployment_id), sha=f"{shift + i:040x}")
        d.update(created_at=ts(-60 * i), updated_at=ts(-60 * i))
        repo.deployments.append(d)
        repo.statuses[d["id"]] = []
        for j, state in enumerate(("success", "in_progress", "queued", "queued")[: 4 if i == 2 else 2]):
            s = copy.deepcopy(status)
            s.update(id=d["id"] * 10 + j, node_id=legacy_node_id("DeploymentStatus", d["id"] * 10 + j))
            s.update(state=state, created_at=ts(5 - j))
            repo.statuses[d["id"]].append(s)
    for i in range(5):
        p = copy.deepcopy(pull)
        # Closed, as `state=closed` lists them (the example is open); #12 was closed without being merged.
        pull_id = shift + 500 + i
        p.update(id=pull_id, node_id=legacy_node_id("PullRequest", pull_id), number=10 + i, state="closed")
        p.update(updated_at=ts(-30 * i), merged_at=ts(-30 * i) if i != 2 else None)
        p["base"] = {"ref": "main", "sha": f"{p['number']:036x}ba5e"}  # the example elides its base
        repo.pulls.append(p)
        repo.pull_commits[p["number"]] = []
        for j in range(4 if p["number"] == 11 else 2):
            c = copy.deepcopy(commit)
            n = shift + p["number"] * 100 + j
            c.update(sha=f"{n:040x}", node_id=legacy_node_id("Commit", n))
            repo.pull_commits[p["number"]].append(c)
    for i in range(6):
        c = copy.deepcopy(commit)
        c.update(sha=f"{shift + 1000 + i:040x}", node_id=legacy_node_id("Commit", shift + 1000 + i))
        c["commit"]["committer"]["date"] = c["commit"]["author"]["date"] = ts(-20 * i)
        repo.commits.append(c)
    return repo


GITHUB_EXPECTED = {"deployments": 7, "deployment_statuses": 16, "pull_requests": 5, "pull_commits": 10, "commits": 6}


def fake_github(api: FakeApi) -> Fixture:
    """GitHub read through REST (`api: rest`): a request per deployment for its statuses, per merged pull request
    for its commits."""
    repo = github_repo()

    def listed(items: Callable[[re.Match], list[dict[str, Any]]]) -> Handler:
        return lambda request, m: link_page(request, items(m), api.server)

    path = r"/repos/acme/shop"
    api.route(path + "/deployments", listed(lambda m: repo.deployments))
    api.route(path + r"/deployments/(?P<dep>\d+)/statuses", listed(lambda m: repo.statuses[int(m["dep"])]))
    api.route(path + "/pulls", listed(lambda m: repo.pulls))
    api.route(path + r"/pulls/(?P<n>\d+)/commits", listed(lambda m: repo.pull_commits[int(m["n"])]))
    api.route(path + "/commits", listed(lambda m: repo.commits))
    settings = {"api_url": api.server.url_for("/"), "token": "env:CONTRACT_TOKEN", "page_size": 3, "api": "rest"}
    return Fixture(settings=settings, mappings={"shop": {"repo": "acme/shop"}}, expected=GITHUB_EXPECTED)


def serve_github_graphql(api: FakeApi, *repos: GitHubRepo, points_per_hour: int = POINTS_PER_HOUR) -> GraphqlApi:
    """`POST /graphql` answered in GitHub's shape (nested connections, cursors, `rateLimit`, errors with a 200)
    over `repos`."""
    graphql = GraphqlApi({repo.full_name: repo for repo in repos}, points_per_hour)

    def query(request: Request, m: re.Match) -> Response:
        body, headers = graphql.answer(request.get_data(), request.headers.get("Authorization") or "")
        return json_response(body, headers=headers)

    api.route("/graphql", query)
    return graphql


def fake_github_graphql(api: FakeApi) -> Fixture:
    """GitHub read through GraphQL (`api: graphql`): the same records as `fake_github`, in a query per page of
    deployments (with their statuses) or pull requests (with their commits)."""
    serve_github_graphql(api, github_repo())
    settings = {"api_url": api.server.url_for("/"), "token": "env:CONTRACT_TOKEN", "page_size": 3, "api": "graphql"}
    return Fixture(settings=settings, mappings={"shop": {"repo": "acme/shop"}}, expected=GITHUB_EXPECTED)


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
    user = example("pagerduty/users")["users"][0]
    users = [copy.deepcopy(user) | {"id": f"PUSR{i:03d}", "name": f"User {i}"} for i in range(7)]
    api.route("/users", lambda r, m: offset_page(r, "users", users))
    return Fixture(
        settings={
            "api_url": api.server.url_for("/"),
            "token": "env:CONTRACT_TOKEN",
            "page_size": 3,  # windows of 2 days hold about 5 incidents: two pages each
            "history_days": 6,
            "window_days": 2,
        },
        mappings={"shop": {"service_id": "PSVC1"}},
        expected={"incidents": 12, "log_entries": 12, "users": 7},
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


def gitlab_ts(minutes: float, offset_hours: int = 0, millis: bool = True) -> str:
    """GitLab's times: `2016-08-11T07:36:40.222Z`, or with the committer's offset (`2012-09-20T11:50:22+03:00`)."""
    moment = START + timedelta(minutes=minutes)
    if offset_hours:
        local = moment.astimezone(timezone(timedelta(hours=offset_hours)))
        return local.isoformat(timespec="milliseconds" if millis else "seconds")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def gitlab_page(request: Request, items: list[Any], totals: bool = True) -> Response:
    """GitLab offset paging: `page`/`per_page`, the next page's number in `X-Next-Page`, empty on the last page.
    The commits API sends no totals (`totals=False`)."""
    per_page, page = int(request.args.get("per_page", 20)), int(request.args.get("page", 1))
    last = max(1, -(-len(items) // per_page))
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if page < last else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    if totals:
        headers |= {"X-Total": str(len(items)), "X-Total-Pages": str(last)}
    return json_response(items[(page - 1) * per_page : page * per_page], headers=headers)


def updated_since(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]] | Response:
    """GitLab's `updated_after` ("on or after"), which must be paired with `order_by=updated_at`, and the sort."""
    after = request.args.get("updated_after")
    if after and request.args.get("order_by") != "updated_at":
        return json_response({"message": "updated_after must be used with order_by=updated_at"}, 400)
    if after:
        items = [i for i in items if parse_timestamp(i["updated_at"]) >= parse_timestamp(after)]
    if request.args.get("order_by") == "updated_at":
        newest_first = request.args.get("sort", "desc") == "desc"
        items = sorted(items, key=lambda i: (parse_timestamp(i["updated_at"]), i["id"]), reverse=newest_first)
    return items


def fake_gitlab(api: FakeApi) -> Fixture:
    """GitLab read through REST only (`api: rest`): a request per merged merge request for its commits."""
    return gitlab_fixture(api, "rest")


def fake_gitlab_graphql(api: FakeApi) -> Fixture:
    """GitLab with merge requests' commits read through GraphQL (`api: graphql`, the default): the same records as
    `fake_gitlab`, the commits of two merge requests a query (pages of 3 commits: some take a second query)."""
    return gitlab_fixture(api, "graphql")


def gitlab_fixture(api: FakeApi, mode: str) -> Fixture:
    """A project `acme/shop` (addressed as `acme%2Fshop`): merged merge requests of three kinds (merge commit,
    squash, fast-forward), their commits, the branch's commits with offsets, deployments to two environments.
    `mode` is the connector's `api`; with `graphql`, `POST /api/graphql` answers in GitLab's shape."""
    project, project_id = "acme/shop", 42
    mr_template = example("gitlab/merge_requests")[0]
    commit_template = example("gitlab/commits")[0]
    mr_commit_template = example("gitlab/merge_request_commits")[0]
    deployment_template = example("gitlab/deployments")[0]

    merge_requests = []
    for i in range(10):
        mr = copy.deepcopy(mr_template)
        iid = i + 1
        kind = ("merge", "squash", "fast_forward")[i % 3]
        mr.update(
            id=7000 + i,
            iid=iid,
            project_id=project_id,
            title=f"Change {iid}",
            state="opened" if i == 8 else "merged",
            target_branch="develop" if i == 9 else "main",
            source_branch=f"feature-{iid}",
            created_at=gitlab_ts(30 * i - 600),
            updated_at=gitlab_ts(30 * i + (50 if i % 2 else 5)),  # update order differs from id order
            merged_at=None if i == 8 else gitlab_ts(30 * i),
            sha=f"{0xA000 + iid:040x}",
            squash=kind == "squash",
            merge_commit_sha=f"{0xB000 + iid:040x}" if kind == "merge" else None,
            squash_commit_sha=f"{0xC000 + iid:040x}" if kind == "squash" else None,
        )
        merge_requests.append(mr)

    def mr_commits(iid: int) -> list[dict[str, Any]]:
        items = []
        for j in range(1 + iid % 4):  # one to four commits: some lists take two pages
            c = copy.deepcopy(mr_commit_template)
            sha = f"{iid * 100 + j:040x}"
            c.update(id=sha, short_id=sha[:11], authored_date=gitlab_ts(30 * iid - 60 + j, 3, millis=False))
            c["committed_date"] = c["created_at"] = c["authored_date"]
            items.append(c)
        return items

    commits = []
    for i in range(8):  # newest first, as GitLab lists a branch
        c = copy.deepcopy(commit_template)
        sha = f"{0xD000 + i:040x}"
        when = gitlab_ts(-20 * i, 3 if i % 2 else 0)  # the committer's offset is kept
        c.update(id=sha, short_id=sha[:11], authored_date=when, committed_date=when, created_at=when)
        c["parent_ids"] = [f"{0xD000 + i + 1:040x}"]
        commits.append(c)

    deployments = []
    statuses = ("success", "failed", "success", "running", "canceled", "success", "blocked", "success", "created")
    for i in range(10):
        d = copy.deepcopy(deployment_template)
        sha = f"{0xE000 + i:040x}"
        environment = "staging" if i in (2, 5, 7) else "production"
        d.update(
            id=900 + i,
            iid=i + 1,
            sha=sha,
            status=statuses[i % len(statuses)],
            created_at=gitlab_ts(45 * i),
            updated_at=gitlab_ts(45 * i + (40 if i % 3 else 2)),
        )
        d["environment"] = {"id": 9 if environment == "production" else 10, "name": environment}
        d["deployable"].update(id=6000 + i, status=d["status"], finished_at=gitlab_ts(45 * i + 1))
        d["deployable"]["commit"]["id"] = sha
        deployments.append(d)

    def checked(handler: Handler) -> Handler:
        """GitLab answers 401 without the token, and 404 to a project path that is not URL-encoded."""

        def answer(request: Request, m: re.Match) -> Response:
            if request.headers.get("PRIVATE-TOKEN") != TOKEN:
                return json_response({"message": "401 Unauthorized"}, 401)
            if not raw_path(request).startswith(f"/api/v4/projects/{quote(project, safe='')}/"):
                return json_response({"message": "404 Project Not Found"}, 404)
            return handler(request, m)

        return answer

    def list_merge_requests(request: Request, m: re.Match) -> Response:
        found = [
            mr
            for mr in merge_requests
            if mr["state"] == request.args.get("state", mr["state"])
            and mr["target_branch"] == request.args.get("target_branch", mr["target_branch"])
        ]
        found = updated_since(request, found)
        return found if isinstance(found, Response) else gitlab_page(request, found)

    def list_deployments(request: Request, m: re.Match) -> Response:
        environment = request.args.get("environment")
        found = updated_since(request, [d for d in deployments if environment in (None, d["environment"]["name"])])
        return found if isinstance(found, Response) else gitlab_page(request, found)

    def list_commits(request: Request, m: re.Match) -> Response:
        if request.args.get("ref_name", "main") != "main":
            return json_response({"message": "404 Commit Not Found"}, 404)
        since = request.args.get("since")
        found = [c for c in commits if not since or parse_timestamp(c["committed_date"]) >= parse_timestamp(since)]
        return gitlab_page(request, found, totals=False)

    if mode == "graphql":
        served = GitLabProject(
            project, project_id, merge_requests, {mr["iid"]: mr_commits(mr["iid"]) for mr in merge_requests}
        )
        graphql = GitlabGraphqlApi({project: served})

        def query(request: Request, m: re.Match) -> Response:
            if request.headers.get("PRIVATE-TOKEN") != TOKEN:
                return json_response({"message": "401 Unauthorized"}, 401)
            return json_response(graphql.answer(request.get_data(), TOKEN)[0])

        api.route("/api/graphql", query)
    base = r"/api/v4/projects/acme/shop"  # werkzeug decodes the `%2F` of the path
    api.route(base + "/merge_requests", checked(list_merge_requests))
    api.route(
        base + r"/merge_requests/(?P<iid>\d+)/commits", checked(lambda r, m: gitlab_page(r, mr_commits(int(m["iid"]))))
    )
    api.route(base + "/repository/commits", checked(list_commits))
    api.route(base + "/deployments", checked(list_deployments))
    merged = [mr for mr in merge_requests if mr["state"] == "merged" and mr["target_branch"] == "main"]
    return Fixture(
        settings={
            "api_url": api.server.url_for("/api/v4"),
            "token": "env:CONTRACT_TOKEN",
            "page_size": 3,
            "api": mode,
            "merge_requests_per_query": 2,
        },
        mappings={"shop": {"project": project, "environment": "production", "branch": "main"}},
        expected={
            "merge_requests": len(merged),
            "merge_request_commits": sum(len(mr_commits(mr["iid"])) for mr in merged),
            "commits": len(commits),
            "deployments": sum(d["environment"]["name"] == "production" for d in deployments),
        },
    )


ACTIONS_JOBS = ("build", "test", "Deploy to production", "notify")


@dataclass
class ActionsRuns:
    """Every attempt of every run of one workflow, as GitHub Actions serves them (see `serve_actions`)."""

    attempts: dict[tuple[int, int], dict[str, Any]]  # (run id, attempt) -> the run as it was at that attempt
    cap: int = 1000  # with `branch` or `created`, GitHub pages through the first 1,000 results only

    def latest(self) -> list[dict[str, Any]]:
        """The runs as listed: each at its latest attempt."""
        latest: dict[int, dict[str, Any]] = {}
        for (run_id, _), run in sorted(self.attempts.items()):
            latest[run_id] = run
        return list(latest.values())


def actions_run(run_id: int, created: datetime, attempt: int = 1, **fields: Any) -> dict[str, Any]:
    """A workflow run shaped like the recorded example, created at `created`, at attempt `attempt`."""
    run = copy.deepcopy(example("github_actions/workflow_runs")["workflow_runs"][0])
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    run.update(
        id=run_id,
        run_number=run_id - 1000,
        run_attempt=attempt,
        name="Deploy",
        path=".github/workflows/deploy.yml@main",
        head_branch="main",
        head_sha=f"{run_id:040x}",
        event="push",
        status="completed",
        conclusion="success",
        created_at=stamp,
        run_started_at=(created + timedelta(minutes=10 * (attempt - 1))).strftime("%Y-%m-%dT%H:%M:%SZ"),
        updated_at=(created + timedelta(minutes=10 * attempt - 2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    run.update(fields)
    return run


def serve_actions(api: FakeApi, runs: ActionsRuns, repo: str = "acme/shop", workflow: str = "deploy.yml") -> None:
    """GitHub Actions routes: the workflow's runs (`branch`, `created=<from>..<to>` inclusive, newest first,
    `total_count`, Link paging, 422 past the cap), one attempt of a run, and an attempt's jobs."""
    job_template = example("github_actions/jobs")["jobs"][0]

    def authorised(request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def listing(request: Request, m: re.Match) -> Response:
        if not authorised(request):
            return json_response({"message": "Bad credentials"}, 401)
        found = runs.latest()
        if "branch" in request.args:
            found = [r for r in found if r["head_branch"] == request.args["branch"]]
        if "created" in request.args:
            low, _, high = request.args["created"].partition("..")
            found = [r for r in found if low <= r["created_at"] <= high]
        found.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        per_page, page = int(request.args.get("per_page", 30)), int(request.args.get("page", 1))
        capped = runs.cap if {"branch", "created"} & set(request.args) else len(found)
        if (page - 1) * per_page >= capped:
            message = f"Only the first {runs.cap} search results are available"
            return json_response({"message": message, "documentation_url": "https://docs.github.com/v3/search/"}, 422)
        return link_page(request, found[:capped], api.server, "workflow_runs", total=len(found))

    def attempt(request: Request, m: re.Match) -> Response:
        run = runs.attempts.get((int(m["run"]), int(m["n"])))
        if not authorised(request) or run is None:
            return json_response({"message": "Not Found"}, 404)
        return json_response(run)

    def jobs(request: Request, m: re.Match) -> Response:
        run = runs.attempts.get((int(m["run"]), int(m["n"])))
        if not authorised(request) or run is None:
            return json_response({"message": "Not Found"}, 404)
        items = []
        for k, name in enumerate(ACTIONS_JOBS):
            job = copy.deepcopy(job_template)
            done = run["status"] == "completed" or k < 2  # a run in progress is deploying
            job.update(
                id=run["id"] * 100 + run["run_attempt"] * 10 + k,
                run_id=run["id"],
                run_attempt=run["run_attempt"],
                name=name,
                head_sha=run["head_sha"],
                status="completed" if done else ("in_progress" if k == 2 else "queued"),
                conclusion=(run["conclusion"] if name == "Deploy to production" else "success") if done else None,
                started_at=run["run_started_at"],
                completed_at=run["updated_at"] if done else None,
            )
            items.append(job)
        return link_page(request, items, api.server, "jobs")

    base = f"/repos/{repo}/actions"
    api.route(base + f"/workflows/{re.escape(workflow)}/runs", listing)
    api.route(base + r"/runs/(?P<run>\d+)/attempts/(?P<n>\d+)", attempt)
    api.route(base + r"/runs/(?P<run>\d+)/attempts/(?P<n>\d+)/jobs", jobs)


def fake_github_actions(api: FakeApi) -> Fixture:
    """Ten runs of `deploy.yml` on main, an hour apart, ending before now: run 1004 failed then passed on a re-run,
    run 1007 took three attempts, the newest is still in progress; two runs on another branch are not read."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # a sync reads runs created up to now
    attempts: dict[tuple[int, int], dict[str, Any]] = {}
    for i in range(10):
        run_id, created = 1000 + i, now - timedelta(hours=10 - i)
        conclusions = {4: ("failure", "success"), 7: ("failure", "cancelled", "success")}.get(i, ("success",))
        for n, conclusion in enumerate(conclusions, start=1):
            attempts[(run_id, n)] = actions_run(run_id, created, n, conclusion=conclusion)
    attempts[(1009, 1)].update(status="in_progress", conclusion=None)
    for run_id in (1020, 1021):
        attempts[(run_id, 1)] = actions_run(run_id, now - timedelta(hours=3), head_branch="feature-x")
    serve_actions(api, ActionsRuns(attempts))
    on_main = [a for a in attempts.values() if a["head_branch"] == "main"]
    return Fixture(
        settings={"api_url": api.server.url_for("/"), "token": "env:CONTRACT_TOKEN", "page_size": 3},
        mappings={"shop": {"repo": "acme/shop", "workflow": "deploy.yml", "job": "Deploy to production"}},
        expected={"workflow_runs": len(on_main), "jobs": len(on_main) * len(ACTIONS_JOBS)},
    )


def parse_tree(spec: str) -> dict[str, Any]:
    """Jenkins' `tree` selector, `a,b[c,d[e]]` -> {"a": None, "b": {"c": None, "d": {"e": None}}}."""

    def fields(at: int) -> tuple[dict[str, Any], int]:
        found: dict[str, Any] = {}
        name = ""
        while at < len(spec):
            char = spec[at]
            if char == "[":
                found[name], at = fields(at + 1)
                name = ""
            elif char in ",]":
                if name:
                    found[name] = None
                name = ""
                if char == "]":
                    return found, at
            else:
                name += char
            at += 1
        if name:
            found[name] = None
        return found, at

    return fields(0)[0]


def select_tree(value: Any, tree: dict[str, Any] | None) -> Any:
    """What Jenkins returns for `value` under a `tree` selector: the named fields (and `_class`) only, so an
    action with none of them is `{}`."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [select_tree(v, tree) for v in value]
    if isinstance(value, dict):
        kept = {"_class": value["_class"]} if "_class" in value else {}
        return kept | {k: select_tree(value[k], sub) for k, sub in tree.items() if k in value}
    return value


def jenkins_builds(job: str, count: int, sha_prefix: int, building: bool = False) -> list[dict[str, Any]]:
    """`count` builds of `job`, newest first, shaped like the recorded ones (epoch-millisecond times, BuildData
    actions, a shared library's BuildData beside the application's on some)."""
    recorded = example("jenkins/job")["builds"]  # building, success with two BuildData, aborted
    url = "https://ci.example.com/" + "/".join(f"job/{quote(s, safe='')}" for s in job.split("/"))
    builds = []
    for number in range(count, 0, -1):
        build = copy.deepcopy(recorded[1 if number % 3 else 2])
        running = building and number == count
        build.update(
            number=number,
            url=f"{url}/{number}/",
            building=running,
            result=None if running else ("FAILURE" if number % 4 == 0 else "SUCCESS"),
            timestamp=int((START + timedelta(hours=number)).timestamp() * 1000) + 123,
            duration=0 if running else 30_000 + number,
        )
        for action in build["actions"]:
            if action.get("_class") == "hudson.plugins.git.util.BuildData" and "shared-lib" not in str(action):
                action["lastBuiltRevision"]["SHA1"] = f"{sha_prefix:06x}{number:034x}"
                action["lastBuiltRevision"]["branch"][0]["SHA1"] = action["lastBuiltRevision"]["SHA1"]
                action["remoteUrls"] = ["https://github.com/acme/shop.git"]
        builds.append(build)
    return builds


JENKINS_USER = "bot@example.com"


def serve_jenkins(api: FakeApi, jobs: dict[str, list[dict[str, Any]]]) -> None:
    """Jenkins' JSON API for `jobs` (full name -> builds, newest first): `/job/<a>/job/<b>/api/json` with
    `tree=allBuilds[...]{M,N}`, Basic auth required up front (403 otherwise), folders above the jobs (no builds),
    404 (HTML) for anything else."""
    authorization = "Basic " + base64.b64encode(f"{JENKINS_USER}:{TOKEN}".encode()).decode()
    folders = {"/".join(job.split("/")[:n]) for job in jobs for n in range(1, job.count("/") + 1)}

    def job_api(request: Request, m: re.Match) -> Response:
        if request.headers.get("Authorization") != authorization:  # no challenge: 403, as Jenkins answers
            return Response("<html><body>Authentication required</body></html>", 403, content_type="text/html")
        name = "/".join(m["path"].split("/job/"))  # the path is decoded once: a branch is `feature%2Fone` again
        if name in folders:
            return json_response({"_class": "com.cloudbees.hudson.plugins.folder.Folder", "jobs": []})
        if name not in jobs:
            return Response("<html><body>Not Found</body></html>", 404, content_type="text/html")
        body: dict[str, Any] = {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob"}
        tree = request.args.get("tree", "")
        asked = re.fullmatch(r"allBuilds\[(?P<fields>.*)\]\{(?P<start>\d+),(?P<end>\d+)\}", tree)
        if asked:
            chosen = jobs[name][int(asked["start"]) : int(asked["end"])]
            body["allBuilds"] = select_tree(chosen, parse_tree(asked["fields"]))
        return json_response(body)

    api.route(r"/job/(?P<path>.+)/api/json", job_api)


def jenkins_settings(api: FakeApi) -> dict[str, Any]:
    """The catalog settings of a Jenkins fake: credentials from the environment, ranges of three builds."""
    url = api.server.url_for("/")
    return {"api_url": url, "user": "env:CONTRACT_USER", "token": "env:CONTRACT_TOKEN", "page_size": 3}


def fake_jenkins(api: FakeApi) -> Fixture:
    """A job in a folder (`deploy/shop-production`, its newest build still running) and a multibranch project's
    branch with a slash (`shop/feature%2Fone`, asked for as `/job/shop/job/feature%252Fone`)."""
    jobs = {
        "deploy/shop-production": jenkins_builds("deploy/shop-production", 8, 1, building=True),
        "shop/feature%2Fone": jenkins_builds("shop/feature%2Fone", 4, 2),
        "shop/main": jenkins_builds("shop/main", 2, 3),  # not mapped: never read
    }
    serve_jenkins(api, jobs)
    mapped = ("deploy/shop-production", "shop/feature%2Fone")
    return Fixture(
        settings=jenkins_settings(api),
        mappings={"shop": {"jobs": list(mapped)}},
        expected={"builds": sum(len(jobs[job]) for job in mapped)},
    )


FAKES: dict[str, Callable[[FakeApi], Fixture]] = {
    "github": fake_github,
    "github_graphql": fake_github_graphql,
    "pagerduty": fake_pagerduty,
    "jira": fake_jira,
    "opsgenie": fake_opsgenie,
    "gitlab": fake_gitlab,
    "gitlab_graphql": fake_gitlab_graphql,
    "github_actions": fake_github_actions,
    "jenkins": fake_jenkins,
}

# A fake of a registered connector in another of its modes, and the connector it runs: the generic suites (contract,
# faults, crash and resume) run every fake, each against its connector.
VARIANTS: dict[str, str] = {"github_graphql": "github", "gitlab_graphql": "gitlab"}


def fake_names() -> list[str]:
    """Every registered connector (each must have a fake) and every variant fake: what the generic suites run."""
    return sorted(set(CONNECTORS) | set(FAKES))


def connector_name(fake: str) -> str:
    """The registered connector a fake is for."""
    return VARIANTS.get(fake, fake)
