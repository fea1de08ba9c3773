"""A loopback HTTP server that serves an `Organisation` the way GitHub, PagerDuty and Jira Cloud do (and Opsgenie,
GitLab, GitHub Actions and Jenkins when the organisation has their data).

One server, one URL prefix per source (`/github`, `/pagerduty`, `/jira`, `/opsgenie`, `/gitlab`, `/jenkins`; GitHub
Actions lives under `/github` as it does on api.github.com), each a `Source` with its own
authentication rule, error shape, pagination and routes. A new source is a new `Source` subclass listed in
`SOURCES`; a fault-injection mode is an interceptor appended to `SampleServer.interceptors` (a callable that
may answer a request before its source does, e.g. with a 429 or a 500).

Only what connectors read is served (GET list endpoints, plus Jira's POST search, GitHub's POST /graphql, see
`sample_org/github_graphql.py`, and GitLab's POST /api/graphql, see `sample_org/gitlab_graphql.py`). Payload URLs
(`url`, `self`, `html_url`) keep the public hosts of the generated data; only pagination links point at this server.
"""

from __future__ import annotations

import base64
import bisect
import calendar
import datetime as dt
import email.utils
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import orjson

from sample_org.generator import (
    GITLAB_WEB,
    JENKINS_WEB,
    ActionsRepo,
    GitHubRepo,
    GitLabProject,
    JenkinsJob,
    Organisation,
    gh_time,
    jira_time,
)
from sample_org.github_graphql import GraphqlApi
from sample_org.gitlab_graphql import GitlabGraphqlApi


@dataclass
class Request:
    """An HTTP request as a source sees it: `path` is below the source's prefix."""

    method: str
    path: str
    query: list[tuple[str, str]]  # in request order, repeated keys kept
    headers: Mapping[str, str]
    body: bytes
    base: str  # absolute URL of the source's root, e.g. http://127.0.0.1:8080/github

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter `name`."""
        values = self.args(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of query parameter `name` (for `service_ids[]=a&service_ids[]=b`)."""
        return [v for k, v in self.query if k == name]

    def int_arg(self, name: str, default: int) -> int:
        """Query parameter `name` as an int; `default` when absent or not a number (as the APIs do)."""
        try:
            return int(self.arg(name) or default)
        except ValueError:
            return default

    def url_with(self, **params: object) -> str:
        """This request's absolute URL with some query parameters replaced, the others kept in order."""
        query = [(k, v) for k, v in self.query if k not in params] + [(k, str(v)) for k, v in params.items()]
        return f"{self.base}{self.path}?{urlencode(query)}"


@dataclass
class Response:
    """What a source answers; the handler serialises `body` and sets Content-Type and Content-Length."""

    status: int
    body: object  # serialised as JSON
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by a route to answer with the source's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def parse_time(text: str | None) -> int | None:
    """Epoch seconds of an ISO 8601 timestamp (a date alone means midnight UTC); None for no value."""
    if not text:
        return None
    text = text.strip()
    if "T" in text:  # an unencoded "+00:00" arrives as " 00:00"
        text = text.replace(" ", "+")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"Invalid timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp())


class Source:
    """One API: a URL prefix, an authentication rule, an error shape and routes (path regex -> method)."""

    prefix: ClassVar[str] = ""
    routes: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        self.org, self.tokens = org, tokens
        self._routes = [(re.compile(pattern), getattr(self, name)) for pattern, name in self.routes]

    def authorised(self, req: Request) -> bool:
        """Whether `req` carries this source's credential (asked only when the server has tokens)."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        """An error in this API's own shape."""
        raise NotImplementedError

    def handle(self, req: Request) -> Response:
        """Authenticate, route, and turn `ApiError`s into this API's error shape."""
        if self.tokens is not None and not self.authorised(req):
            return self.error(401, "unauthorised")
        for pattern, route in self._routes:
            if m := pattern.fullmatch(req.path):
                try:
                    return route(req, *m.groups())
                except ApiError as e:
                    return self.error(e.status, e.message)
        return self.error(404, "Not Found")


class RateWindow:
    """Requests per credential in fixed windows, for the rate-limit headers an API reports (never enforced)."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._used: dict[str, tuple[int, int]] = {}  # credential digest -> (window start, requests in window)

    def count(self, credential: str) -> tuple[int, int]:
        """Count one request made with `credential`; returns its window's start and the requests in it so far."""
        key = hashlib.sha256(credential.encode()).hexdigest()
        now = int(time.time())
        with self._lock:
            window, used = self._used.get(key, (now, 0))
            if now >= window + self.seconds:
                window, used = now, 0
            self._used[key] = (window, used + 1)
        return window, used + 1


# ----------------------------------------------------------------------------------------------------
# GitHub REST v3
# ----------------------------------------------------------------------------------------------------


class GitHub(Source):
    """Deployments, deployment statuses, pulls, pull commits, commits and GitHub Actions workflow runs, with
    `Link` pagination; deployments and pull requests also through GraphQL (`POST /graphql`)."""

    prefix = "github"
    routes: ClassVar = [
        (r"/graphql", "graphql"),
        (r"/repos/([^/]+)/([^/]+)", "repo"),
        (r"/repos/([^/]+)/([^/]+)/deployments", "deployments"),
        (r"/repos/([^/]+)/([^/]+)/deployments/(\d+)/statuses", "statuses"),
        (r"/repos/([^/]+)/([^/]+)/pulls", "pulls"),
        (r"/repos/([^/]+)/([^/]+)/pulls/(\d+)/commits", "pull_commits"),
        (r"/repos/([^/]+)/([^/]+)/commits", "commits"),
        (r"/repos/([^/]+)/([^/]+)/actions/workflows", "workflows"),
        (r"/repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)", "workflow"),
        (r"/repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)/runs", "workflow_runs"),
        (r"/repos/([^/]+)/([^/]+)/actions/runs", "repo_runs"),
        (r"/repos/([^/]+)/([^/]+)/actions/runs/(\d+)", "run"),
        (r"/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/jobs", "run_jobs"),
        (r"/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/attempts/(\d+)", "run_attempt"),
        (r"/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/attempts/(\d+)/jobs", "attempt_jobs"),
    ]
    RATE_LIMIT = 15_000  # a GitHub App's hourly budget; high enough that a demo never waits for a reset
    DOCS = "https://docs.github.com/rest"
    SEARCH_CAP = 1000  # runs listings filtered by created, branch, ... page through this many results at most
    # Filters that make a runs listing a search, subject to the cap.
    SEARCH_FILTERS = ("actor", "branch", "check_suite_id", "created", "event", "head_sha", "status")

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        super().__init__(org, tokens)
        self._window = RateWindow(3600)
        self._actions = {name: _ActionsIndex(repo) for name, repo in org.github_actions.items()}
        self._graphql = GraphqlApi(org.github)

    def authorised(self, req: Request) -> bool:
        token = self.tokens.get("github", "")
        return bool(token) and req.headers.get("Authorization") in (f"Bearer {token}", f"token {token}")

    def error(self, status: int, message: str) -> Response:
        if status == 401:
            message = "Bad credentials"
        return Response(status, {"message": message, "documentation_url": self.DOCS, "status": str(status)})

    def handle(self, req: Request) -> Response:
        resp = super().handle(req)
        if req.path == "/graphql" and resp.status == 200:
            return resp  # GraphQL has its own budget, in points, which its answer's headers report
        # Count every request against its credential's hourly window, the way GitHub reports it.
        window, used = self._window.count(req.headers.get("Authorization") or "")
        resp.headers |= {
            "x-ratelimit-limit": str(self.RATE_LIMIT),
            "x-ratelimit-remaining": str(max(0, self.RATE_LIMIT - used)),
            "x-ratelimit-reset": str(window + 3600),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
        }
        return resp

    def _repo(self, owner: str, name: str) -> GitHubRepo:
        repo = self.org.github.get(f"{owner}/{name}")
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    @staticmethod
    def _page(req: Request, items: list) -> Response:
        """One page of `items`, with GitHub's `Link` header (absolute URLs, other parameters preserved)."""
        page, headers = GitHub._slice(req, items)
        return Response(200, page, headers)

    @staticmethod
    def _slice(req: Request, items: list) -> tuple[list, dict[str, str]]:
        """The requested page of `items` and its `Link` header."""
        per_page = min(100, max(1, req.int_arg("per_page", 30)))
        page = max(1, req.int_arg("page", 1))
        last = max(1, -(-len(items) // per_page))
        links = []
        if page > 1:
            links += [(min(page - 1, last), "prev")]
        if page < last:
            links += [(page + 1, "next"), (last, "last")]
        if page > 1:
            links += [(1, "first")]
        headers = {"Link": ", ".join(f'<{req.url_with(page=p)}>; rel="{rel}"' for p, rel in links)} if links else {}
        return items[(page - 1) * per_page : page * per_page], headers

    @staticmethod
    def _since_until(req: Request) -> tuple[str, str]:
        # Every GitHub timestamp has the same fixed-width format, so string comparison is time comparison.
        try:
            since, until = parse_time(req.arg("since")), parse_time(req.arg("until"))
        except ApiError as e:
            raise ApiError(422, e.message) from None
        return ("" if since is None else gh_time(since)), ("~" if until is None else gh_time(until))

    def graphql(self, req: Request) -> Response:
        """POST /graphql: a query of the subset `sample_org.github_graphql` serves; its errors come with a 200."""
        if req.method != "POST":
            raise ApiError(404, "Not Found")
        body, headers = self._graphql.answer(req.body, req.headers.get("Authorization") or "")
        return Response(200, body, headers)

    def repo(self, req: Request, owner: str, name: str) -> Response:
        """GET /repos/{o}/{r}: a few fields of the repository."""
        self._repo(owner, name)
        full = f"{owner}/{name}"
        return Response(200, {"name": name, "full_name": full, "private": True, "default_branch": "main",
                              "html_url": f"https://github.com/{full}"})  # fmt: skip

    def deployments(self, req: Request, owner: str, name: str) -> Response:
        """GET /repos/{o}/{r}/deployments, newest first; filters environment, sha, ref, task."""
        items = self._repo(owner, name).deployments
        for param in ("environment", "sha", "ref", "task"):
            if (value := req.arg(param)) is not None:
                items = [d for d in items if d[param] == value]
        return self._page(req, items)

    def statuses(self, req: Request, owner: str, name: str, deployment_id: str) -> Response:
        """GET /repos/{o}/{r}/deployments/{id}/statuses, newest first."""
        statuses = self._repo(owner, name).statuses.get(int(deployment_id))
        if statuses is None:
            raise ApiError(404, "Not Found")
        return self._page(req, statuses)

    def pulls(self, req: Request, owner: str, name: str) -> Response:
        """GET /repos/{o}/{r}/pulls: state (default open), sort created|updated, direction, base."""
        state, sort = req.arg("state", "open"), req.arg("sort", "created")
        if state not in ("open", "closed", "all") or sort not in (
            "created",
            "updated",
            "popularity",
            "long-running",
        ):
            raise ApiError(422, "Validation Failed")
        direction = req.arg("direction", "desc" if sort == "created" else "asc")
        items = [p for p in self._repo(owner, name).pulls if state in ("all", p["state"])]
        if base := req.arg("base"):
            items = [p for p in items if p["base"]["ref"] == base]
        key = "updated_at" if sort == "updated" else "created_at"
        items = sorted(items, key=lambda p: (p[key], p["number"]), reverse=direction == "desc")
        return self._page(req, items)

    def pull_commits(self, req: Request, owner: str, name: str, number: str) -> Response:
        """GET /repos/{o}/{r}/pulls/{n}/commits, oldest first, at most 250 like GitHub."""
        commits = self._repo(owner, name).pull_commits.get(int(number))
        if commits is None:
            raise ApiError(404, "Not Found")
        return self._page(req, commits[:250])  # GitHub lists at most 250 commits of a pull request

    def commits(self, req: Request, owner: str, name: str) -> Response:
        """GET /repos/{o}/{r}/commits?sha=main|<sha>&since&until (committer date), in git-log order."""
        repo = self._repo(owner, name)
        items = repo.commits
        sha = req.arg("sha", "main")
        if sha != "main":  # a commit: its history only
            by_sha = {c["sha"]: c for c in items}
            if sha not in by_sha:
                raise ApiError(404, f"No commit found for SHA: {sha}")
            seen, todo = set(), [sha]
            while todo:
                s = todo.pop()
                if s not in seen:
                    seen.add(s)
                    todo += [p["sha"] for p in by_sha[s]["parents"]]
            items = [c for c in items if c["sha"] in seen]
        since, until = self._since_until(req)
        items = [c for c in items if since <= c["commit"]["committer"]["date"] <= until]
        return self._page(req, items)

    # --- GitHub Actions -------------------------------------------------------------------------------------

    def _actions_of(self, owner: str, name: str) -> _ActionsIndex | None:
        self._repo(owner, name)
        return self._actions.get(f"{owner}/{name}")

    def _workflow_of(self, owner: str, name: str, workflow: str) -> _ActionsIndex:
        """The repository's runs index when `workflow` (file name or numeric id) is its workflow."""
        index = self._actions_of(owner, name)
        if index is None or workflow not in (str(index.workflow["id"]), index.workflow["path"].rsplit("/", 1)[-1]):
            raise ApiError(404, "Not Found")
        return index

    def workflows(self, req: Request, owner: str, name: str) -> Response:
        """GET /repos/{o}/{r}/actions/workflows."""
        index = self._actions_of(owner, name)
        items = [] if index is None else [index.workflow]
        page, headers = self._slice(req, items)
        return Response(200, {"total_count": len(items), "workflows": page}, headers)

    def workflow(self, req: Request, owner: str, name: str, workflow: str) -> Response:
        """GET /repos/{o}/{r}/actions/workflows/{file name or id}."""
        return Response(200, self._workflow_of(owner, name, workflow).workflow)

    def workflow_runs(self, req: Request, owner: str, name: str, workflow: str) -> Response:
        """GET /repos/{o}/{r}/actions/workflows/{workflow}/runs: the latest attempt of each run, newest first."""
        return self._runs(req, self._workflow_of(owner, name, workflow))

    def repo_runs(self, req: Request, owner: str, name: str) -> Response:
        """GET /repos/{o}/{r}/actions/runs (the only workflow here is the deployment one)."""
        index = self._actions_of(owner, name)
        if index is None:
            return Response(200, {"total_count": 0, "workflow_runs": []})
        return self._runs(req, index)

    def _runs(self, req: Request, index: _ActionsIndex) -> Response:
        """Filters branch, event, status (or conclusion), head_sha, actor and created; the 1,000-result cap."""
        items = index.created_between(*_created_range(req.arg("created")))
        filters = {
            "branch": lambda r, v: r["head_branch"] == v,
            "event": lambda r, v: r["event"] == v,
            "status": lambda r, v: v in (r["status"], r["conclusion"]),
            "head_sha": lambda r, v: r["head_sha"] == v,
            "actor": lambda r, v: r["actor"]["login"] == v,
            "check_suite_id": lambda r, v: str(r["check_suite_id"]) == v,
        }
        for param, test in filters.items():
            if (value := req.arg(param)) is not None:
                items = [r for r in items if test(r, value)]
        total = len(items)
        if any(req.arg(p) is not None for p in self.SEARCH_FILTERS):
            per_page = min(100, max(1, req.int_arg("per_page", 30)))
            if (max(1, req.int_arg("page", 1)) - 1) * per_page >= self.SEARCH_CAP:
                raise ApiError(422, "Only the first 1000 search results are available")
            items = items[: self.SEARCH_CAP]
        page, headers = self._slice(req, items)
        return Response(200, {"total_count": total, "workflow_runs": page}, headers)

    def _attempts(self, owner: str, name: str, run_id: str) -> list[dict]:
        index = self._actions_of(owner, name)
        attempts = None if index is None else index.attempts.get(int(run_id))
        if attempts is None:
            raise ApiError(404, "Not Found")
        return attempts

    def run(self, req: Request, owner: str, name: str, run_id: str) -> Response:
        """GET /repos/{o}/{r}/actions/runs/{id}: the run as its latest attempt left it."""
        return Response(200, self._attempts(owner, name, run_id)[-1])

    def run_attempt(self, req: Request, owner: str, name: str, run_id: str, n: str) -> Response:
        """GET /repos/{o}/{r}/actions/runs/{id}/attempts/{n}: the run as attempt `n` left it."""
        attempts = self._attempts(owner, name, run_id)
        if not 1 <= int(n) <= len(attempts):
            raise ApiError(404, "Not Found")
        return Response(200, attempts[int(n) - 1])

    def run_jobs(self, req: Request, owner: str, name: str, run_id: str) -> Response:
        """GET /repos/{o}/{r}/actions/runs/{id}/jobs?filter=latest|all."""
        attempts = self._attempts(owner, name, run_id)
        if req.arg("filter", "latest") not in ("latest", "all"):
            raise ApiError(422, "Validation Failed")
        numbers = range(1, len(attempts) + 1) if req.arg("filter") == "all" else [len(attempts)]
        jobs = [job for n in numbers for job in self.org.github_actions[f"{owner}/{name}"].jobs[f"{run_id}/{n}"]]
        page, headers = self._slice(req, jobs)
        return Response(200, {"total_count": len(jobs), "jobs": page}, headers)

    def attempt_jobs(self, req: Request, owner: str, name: str, run_id: str, n: str) -> Response:
        """GET /repos/{o}/{r}/actions/runs/{id}/attempts/{n}/jobs."""
        self.run_attempt(req, owner, name, run_id, n)
        jobs = self.org.github_actions[f"{owner}/{name}"].jobs[f"{run_id}/{n}"]
        page, headers = self._slice(req, jobs)
        return Response(200, {"total_count": len(jobs), "jobs": page}, headers)


class _ActionsIndex:
    """One repository's runs, ordered for the listing (newest created first) and searchable by creation time."""

    def __init__(self, repo: ActionsRepo) -> None:
        self.workflow = repo.workflow
        self.attempts = {run[0]["id"]: run for run in repo.runs}
        latest = sorted((run[-1] for run in repo.runs), key=lambda r: (r["created_at"], r["id"]), reverse=True)
        self.latest = latest
        self._created = [-_epoch_of(r["created_at"]) for r in latest]  # ascending, for bisect

    def created_between(self, lo: int | None, hi: int | None) -> list[dict]:
        """Latest attempts of the runs created in [lo, hi] (epoch seconds, None: unbounded), newest first."""
        first = 0 if hi is None else bisect.bisect_left(self._created, -hi)
        last = len(self.latest) if lo is None else bisect.bisect_right(self._created, -lo)
        return self.latest[first:last]


def _epoch_of(text: str) -> int:
    """Epoch seconds of an ISO 8601 timestamp the generator wrote (Z or an offset, with or without milliseconds)."""
    return int(dt.datetime.fromisoformat(text).timestamp())


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _created_bound(text: str, upper: bool) -> int:
    """Epoch seconds of one end of a search date; a date alone covers its whole day (UTC)."""
    try:
        if _DATE.fullmatch(text):
            return parse_time(text) + (86_399 if upper else 0)
        return parse_time(text)
    except ApiError:
        raise ApiError(422, "Validation Failed") from None


def _created_range(text: str | None) -> tuple[int | None, int | None]:
    """GitHub search date syntax for `created`: `A..B` (`*` open), `>=A`, `>A`, `<=A`, `<A`, or `A` alone."""
    if not text:
        return None, None
    text = text.strip()
    if ".." in text:
        a, b = (part.strip() for part in text.split("..", 1))
        return (None if a in ("", "*") else _created_bound(a, False)), (
            None if b in ("", "*") else _created_bound(b, True)
        )
    for op in (">=", "<=", ">", "<"):
        if text.startswith(op):
            value = text[len(op) :].strip()
            if op == ">=":
                return _created_bound(value, False), None
            if op == ">":
                return _created_bound(value, True) + 1, None
            if op == "<=":
                return None, _created_bound(value, True)
            return None, _created_bound(value, False) - 1
    return _created_bound(text, False), _created_bound(text, True)


# ----------------------------------------------------------------------------------------------------
# PagerDuty REST v2
# ----------------------------------------------------------------------------------------------------


def _add_months(s: int, months: int) -> int:
    d = dt.datetime.fromtimestamp(s, dt.UTC)
    month = d.month - 1 + months
    year, month = d.year + month // 12, month % 12 + 1
    return int(d.replace(year=year, month=month, day=min(d.day, calendar.monthrange(year, month)[1])).timestamp())


class PagerDuty(Source):
    """Incidents and log entries, with `offset`/`limit`/`more` pagination and its 10,000-record ceiling."""

    prefix = "pagerduty"
    routes: ClassVar = [
        (r"/incidents", "incidents"),
        (r"/incidents/([A-Z0-9]+)", "incident"),
        (r"/incidents/([A-Z0-9]+)/log_entries", "incident_log_entries"),
        (r"/log_entries", "log_entries"),
        (r"/users", "users"),
    ]
    CODES: ClassVar = {
        400: ("Invalid Input Provided", 2001),
        401: ("Authentication failed", 2006),
        404: ("Not Found", 2100),
    }

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        super().__init__(org, tokens)
        self._now = calendar.timegm(org.end.timetuple())  # the organisation's "now": its end
        # Both lists are oldest first: a window is found by bisection, not by a scan of every record per page.
        self._incident_times = [i["created_at"] for i in org.pagerduty_incidents]
        self._entry_times = [e["created_at"] for e in org.pagerduty_log_entries]
        self._entries_by_incident: dict[str, list[dict]] = {}
        for entry in reversed(org.pagerduty_log_entries):
            self._entries_by_incident.setdefault(entry["incident"]["id"], []).append(entry)

    @staticmethod
    def _created_in(items: list[dict], times: list[str], since: str, until: str) -> list[dict]:
        """The items (oldest first, `times` their `created_at`) created in [since, until)."""
        return items[bisect.bisect_left(times, since) : bisect.bisect_left(times, until)]

    def authorised(self, req: Request) -> bool:
        token = self.tokens.get("pagerduty", "")
        return bool(token) and req.headers.get("Authorization") == f"Token token={token}"

    def error(self, status: int, message: str) -> Response:
        title, code = self.CODES.get(status, ("Error", 2000))
        body: dict = {"message": title, "code": code}
        if status == 400:
            body["errors"] = [message]
        return Response(status, {"error": body})

    def _window(self, req: Request) -> tuple[str, str]:
        """[since, until) on created_at. PagerDuty fills a missing end with one month from the other end."""
        if req.arg("date_range") == "all":
            return "", "~"
        since, until = parse_time(req.arg("since")), parse_time(req.arg("until"))
        if since is None and until is None:
            until = self._now
        if since is None:
            since = _add_months(until, -1)
        if until is None:
            until = _add_months(since, 1)
        return gh_time(since), gh_time(until)

    def _page(self, req: Request, key: str, items: list) -> Response:
        offset, limit = max(0, req.int_arg("offset", 0)), min(100, max(1, req.int_arg("limit", 25)))
        if offset + limit > 10_000:  # the real API's ceiling, with its real answer
            message = (
                "Offset+limit exceeds maximum allowed value of 10000. Please try to refine your search to "
                "reduce the returned set of records below this number, like adding a date range."
            )
            error = {"message": "Arguments Caused Error", "code": 2002, "errors": [message]}
            return Response(400, {"error": error})
        total = len(items) if req.arg("total") == "true" else None
        more = offset + limit < len(items)
        return Response(
            200,
            {
                key: items[offset : offset + limit],
                "limit": limit,
                "offset": offset,
                "more": more,
                "total": total,
            },
        )

    def incidents(self, req: Request) -> Response:
        """GET /incidents: since/until on created_at, service_ids[], statuses[], urgencies[], sort_by."""
        since, until = self._window(req)
        items = self._created_in(self.org.pagerduty_incidents, self._incident_times, since, until)
        if service_ids := req.args("service_ids[]"):
            items = [i for i in items if i["service"]["id"] in service_ids]
        if statuses := req.args("statuses[]"):
            items = [i for i in items if i["status"] in statuses]
        if urgencies := req.args("urgencies[]"):
            items = [i for i in items if i["urgency"] in urgencies]
        sort_by = req.arg("sort_by", "created_at:asc")
        if sort_by not in ("created_at", "created_at:asc", "created_at:desc"):
            raise ApiError(400, f"Invalid sort_by: {sort_by}")
        if sort_by.endswith(":desc"):
            items = items[::-1]
        return self._page(req, "incidents", items)

    def incident(self, req: Request, incident_id: str) -> Response:
        """GET /incidents/{id}."""
        found = next((i for i in self.org.pagerduty_incidents if i["id"] == incident_id), None)
        if found is None:
            raise ApiError(404, "Not Found")
        return Response(200, {"incident": found})

    def incident_log_entries(self, req: Request, incident_id: str) -> Response:
        """GET /incidents/{id}/log_entries, newest first."""
        items = self._entries_by_incident.get(incident_id, [])
        return self._page(req, "log_entries", items)

    def users(self, req: Request) -> Response:
        """GET /users: every user by id; `include[]=teams` keeps their teams (references otherwise, as here)."""
        return self._page(req, "users", self.org.pagerduty_users)

    def log_entries(self, req: Request) -> Response:
        """GET /log_entries: since/until on created_at, newest first."""
        # Only overview entries (trigger, acknowledge, resolve) exist here, so `is_overview` changes nothing.
        since, until = self._window(req)
        entries = self._created_in(self.org.pagerduty_log_entries, self._entry_times, since, until)
        return self._page(req, "log_entries", entries[::-1])


# ----------------------------------------------------------------------------------------------------
# Jira Cloud REST v3
# ----------------------------------------------------------------------------------------------------

_VALUE = r'"[^"]*"|\'[^\']*\'|\([^)]*\)|[^\s()]+'
_CLAUSE = re.compile(rf"\s*(\w+)\s*(>=|<=|=|>|<|\bin\b)\s*({_VALUE})\s*", re.IGNORECASE)
_ORDER = re.compile(r"\s*(updated|created)(?:\s+(asc|desc))?\s*", re.IGNORECASE)


def _jql_values(raw: str) -> list[str]:
    raw = raw.strip()
    parts = raw[1:-1].split(",") if raw.startswith("(") else [raw]
    return [p.strip().strip("\"'") for p in parts if p.strip()]


def _jql_time(raw: str) -> str:
    """A JQL date ("2024-01-31 13:45" or "2024-01-31", UTC) in Jira's own timestamp format, for comparison."""
    text = raw.strip("\"'").replace("/", "-")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return jira_time(calendar.timegm(time.strptime(text, fmt)))
        except ValueError:
            continue
    raise ApiError(400, f"Date value '{text}' for field 'updated' is invalid.")


def compile_jql(jql: str) -> tuple[Callable[[dict], bool], list[tuple[str, bool]]]:
    """The supported JQL subset: a filter on issues, and the ORDER BY keys as (field, descending)."""
    where, *rest = re.split(r"\border\s+by\b", jql, maxsplit=1, flags=re.IGNORECASE)
    order_by = rest[0] if rest else ""
    tests: list[Callable[[dict], bool]] = []
    pos, where = 0, where.strip()
    if not where:
        raise ApiError(400, "Unbounded JQL queries are not allowed here. Please add a search restriction.")
    while pos < len(where):
        m = _CLAUSE.match(where, pos)
        if m is None:
            raise ApiError(400, f"Error in the JQL Query: unsupported or malformed clause at '{where[pos:]}'.")
        name, op, raw = m.group(1).lower(), m.group(2).lower(), m.group(3)
        tests.append(_jql_test(name, op, raw))
        pos = m.end()
        if pos < len(where):
            sep = re.compile(r"and\s+", re.IGNORECASE).match(where, pos)
            if sep is None:
                raise ApiError(400, f"Error in the JQL Query: expected AND at '{where[pos:]}'.")
            pos = sep.end()
    order = []
    for part in filter(None, (p.strip() for p in order_by.split(","))):
        m = _ORDER.fullmatch(part)
        if m is None:
            raise ApiError(400, f"Error in the JQL Query: unsupported ORDER BY '{part}'.")
        order.append((m.group(1).lower(), (m.group(2) or "asc").lower() == "desc"))
    return (lambda issue: all(t(issue) for t in tests)), order


def _jql_test(name: str, op: str, raw: str) -> Callable[[dict], bool]:
    values = _jql_values(raw)
    if name in ("project", "issuetype", "labels") and (op == "in" or (op == "=" and len(values) == 1)):
        wanted = {v.lower() for v in values}
        if name == "project":
            return lambda i: i["fields"]["project"]["key"].lower() in wanted
        if name == "issuetype":
            return lambda i: i["fields"]["issuetype"]["name"].lower() in wanted
        return lambda i: any(label.lower() in wanted for label in i["fields"]["labels"])
    if name in ("updated", "created") and op in (">=", ">", "<=", "<"):
        bound = _jql_time(raw)
        compare = {">=": str.__ge__, ">": str.__gt__, "<=": str.__le__, "<": str.__lt__}[op]
        return lambda i: compare(i["fields"][name], bound)
    raise ApiError(400, f"Error in the JQL Query: '{name} {op}' is not supported here.")


class Jira(Source):
    """`/rest/api/3/search/jql` (GET and POST) with `nextPageToken`/`isLast` pagination and a JQL subset."""

    prefix = "jira"
    routes: ClassVar = [(r"/rest/api/3/search/jql", "search")]

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        super().__init__(org, tokens)
        self._answers: dict[str, list[dict]] = {}  # the organisation does not change while served

    def authorised(self, req: Request) -> bool:
        user, token = self.tokens.get("jira_user", ""), self.tokens.get("jira", "")
        expected = base64.b64encode(f"{user}:{token}".encode()).decode()
        return bool(user and token) and req.headers.get("Authorization") == f"Basic {expected}"

    def error(self, status: int, message: str) -> Response:
        if status == 401:
            message = "You are not authenticated. Authentication required to perform this operation."
        return Response(status, {"errorMessages": [message], "errors": {}})

    def search(self, req: Request) -> Response:
        """GET or POST /rest/api/3/search/jql: jql, fields, maxResults, nextPageToken; no total."""
        if req.method == "POST":
            try:
                body = json.loads(req.body or b"{}")
            except ValueError:
                raise ApiError(400, "Invalid request payload.") from None
            jql, token = body.get("jql", ""), body.get("nextPageToken")
            max_results, fields = body.get("maxResults", 50), list(body.get("fields") or [])
        else:
            jql, token = req.arg("jql", ""), req.arg("nextPageToken")
            max_results = req.int_arg("maxResults", 50)
            fields = [f.strip() for value in req.args("fields") for f in value.split(",") if f.strip()]
        items = self._matching(jql)
        # The token is opaque to clients; it binds the offset to this query so a stale one is refused.
        fingerprint = hashlib.sha256(f"{jql}|{fields}".encode()).hexdigest()[:12]
        offset = 0
        if token:
            try:
                offset_text, fp = base64.urlsafe_b64decode(token.encode()).decode().split(":")
                offset = int(offset_text)
            except ValueError:
                raise ApiError(400, "The provided next page token is invalid or expired.") from None
            if fp != fingerprint:
                raise ApiError(400, "The provided next page token is invalid or expired.")
        only_ids = not fields or set(fields) <= {"id", "key"}
        try:
            limit = min(5000 if only_ids else 100, max(1, int(max_results)))
        except (TypeError, ValueError):
            raise ApiError(400, "maxResults must be a number.") from None
        page = [self._shape(i, fields) for i in items[offset : offset + limit]]
        body: dict = {"issues": page, "isLast": offset + limit >= len(items)}
        if not body["isLast"]:
            body["nextPageToken"] = base64.urlsafe_b64encode(f"{offset + limit}:{fingerprint}".encode()).decode()
        return Response(200, body)

    def _matching(self, jql: str) -> list[dict]:
        """The issues `jql` selects, in its order. Remembered for the few queries a sync pages through: filtering
        and sorting every issue again for each page made a 45,000-issue organisation's pages 0.3 s each, and the
        sample server, not the connector, the slow side of the benchmark."""
        if jql not in self._answers:
            matches, order = compile_jql(jql)
            items = [i for i in self.org.jira_issues if matches(i)]
            for name, descending in reversed(order or [("created", False)]):
                items.sort(key=lambda i: i["fields"][name], reverse=descending)
            if len(self._answers) >= 8:
                self._answers.clear()
            self._answers[jql] = items
        return self._answers[jql]

    @staticmethod
    def _shape(issue: dict, fields: list[str]) -> dict:
        """Like /search/jql: only the id unless fields are asked for (`*all`, `*navigable`, names, -name)."""
        if not fields:
            return {"id": issue["id"]}
        everything = bool({"*all", "*navigable"} & set(fields)) or all(f.startswith("-") for f in fields)
        keep = {k: v for k, v in issue["fields"].items() if (everything or k in fields) and f"-{k}" not in fields}
        return {"expand": issue["expand"], "id": issue["id"], "key": issue["key"], "self": issue["self"],
                "fields": keep}  # fmt: skip


# ----------------------------------------------------------------------------------------------------
# Opsgenie (optional addition: serves the data of generate(..., opsgenie_services=k))
# ----------------------------------------------------------------------------------------------------

_OG_TERM = re.compile(r"\s*(teams|responders|status|createdAt|updatedAt)\s*(:|>=|<=|>|<)\s*([\w.@-]+)\s*")


class Opsgenie(Source):
    """`/v2/alerts` and `/v1/incidents` with offset/limit paging (`paging.next` and `X-Paging-Next`)."""

    prefix = "opsgenie"
    routes: ClassVar = [(r"/v2/alerts", "alerts"), (r"/v1/incidents", "incidents")]

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        super().__init__(org, tokens)
        # Each listing's items by responder team, built at start-up: a query names a team, and filtering the
        # whole organisation's alerts for each team's request made the sample server, not the connector, the slow
        # side of a daily run (1.36 s of its CPU at 1,000 services x 730 days). Each index keeps its list and
        # length, so a list swapped or grown after start-up is never answered from a stale index.
        self._indexed: list[tuple[list[dict], int, dict[str, list[dict]]]] = [
            (items, len(items), _by_responder(items)) for items in (org.opsgenie_alerts, org.opsgenie_incidents)
        ]

    def authorised(self, req: Request) -> bool:
        token = self.tokens.get("opsgenie", "")
        return bool(token) and req.headers.get("Authorization") == f"GenieKey {token}"

    def error(self, status: int, message: str) -> Response:
        if status == 401:
            message = "Could not authenticate"
        return Response(status, {"message": message, "took": 0.001, "requestId": _request_id()})

    def _query(self, text: str) -> tuple[Callable[[dict], bool], str | None]:
        """A small subset of Opsgenie's query language: terms joined with AND; times in epoch milliseconds.
        Also the team a `teams:` or `responders:` term requires (the first, if several)."""
        tests = []
        team: str | None = None
        for term in filter(None, re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)):
            m = _OG_TERM.fullmatch(term)
            if m is None:
                raise ApiError(422, f"Invalid query: {term}")
            name, op, value = m.groups()
            if name in ("teams", "responders") and op == ":":
                team_id = self.org.opsgenie_teams.get(value, value)
                team = team or team_id
                tests.append(lambda x, t=team_id: any(r["id"] == t for r in x["responders"]))
            elif name == "status" and op == ":":
                tests.append(lambda x, v=value: x["status"] == v)
            elif name in ("createdAt", "updatedAt") and op != ":" and value.isdigit():
                bound = gh_time(int(value) // 1000)[:-1] + f".{int(value) % 1000:03d}Z"
                compare = {">=": str.__ge__, ">": str.__gt__, "<=": str.__le__, "<": str.__lt__}[op]
                tests.append(lambda x, n=name, b=bound, c=compare: c(x[n], b))
            else:
                raise ApiError(422, f"Invalid query: {term}")
        return (lambda x: all(t(x) for t in tests)), team

    def _list(self, req: Request, items: list[dict]) -> Response:
        sort, order = req.arg("sort", "createdAt"), req.arg("order", "desc")
        if sort not in ("createdAt", "updatedAt") or order not in ("asc", "desc"):
            raise ApiError(422, "Invalid sort or order")
        matches, team = self._query(req.arg("query", ""))
        # The query tests every item it is given: given only the team's, it selects the same ones.
        by_team = next((index for listed, n, index in self._indexed if listed is items and n == len(items)), None)
        # No index for a list the server did not start with, or that grew since: it is read whole.
        candidates = items if team is None or by_team is None else by_team.get(team, [])
        items = sorted(filter(matches, candidates), key=lambda x: (x[sort], x["id"]),
                       reverse=order == "desc")  # fmt: skip
        offset, limit = max(0, req.int_arg("offset", 0)), min(100, max(1, req.int_arg("limit", 20)))
        paging = {"first": req.url_with(offset=0, limit=limit)}
        if offset + limit < len(items):
            paging["next"] = req.url_with(offset=offset + limit, limit=limit)
        paging["last"] = req.url_with(offset=max(0, (len(items) - 1) // limit * limit), limit=limit)
        body = {
            "data": items[offset : offset + limit],
            "paging": paging,
            "took": 0.004,
            "requestId": _request_id(),
        }
        return Response(200, body, {"X-Paging-Next": paging["next"]} if "next" in paging else {})

    def alerts(self, req: Request) -> Response:
        """GET /v2/alerts: query, offset, limit (default 20, max 100), sort, order (default desc)."""
        return self._list(req, self.org.opsgenie_alerts)

    def incidents(self, req: Request) -> Response:
        """GET /v1/incidents: same parameters as alerts."""
        return self._list(req, self.org.opsgenie_incidents)


def _by_responder(items: list[dict]) -> dict[str, list[dict]]:
    """`items` by the id of each of their responders (an item with two responders is under both)."""
    by_team: dict[str, list[dict]] = {}
    for item in items:
        for team_id in dict.fromkeys(r["id"] for r in item["responders"]):
            by_team.setdefault(team_id, []).append(item)
    return by_team


def _request_id() -> str:
    return str(uuid.uuid4())


# ----------------------------------------------------------------------------------------------------
# GitLab REST v4 (optional addition: serves the data of generate(..., source_mix=True) and the like)
# ----------------------------------------------------------------------------------------------------


class _ProjectIndex:
    """One GitLab project with the times its filters compare, parsed once."""

    def __init__(self, project: GitLabProject) -> None:
        self.project = project
        self.mrs_by_iid = {mr["iid"]: mr for mr in project.merge_requests}
        self.mr_times = {
            mr["iid"]: {k: _epoch_of(mr[k]) for k in ("created_at", "updated_at")}
            | {"merged_at": _epoch_of(mr["merged_at"]) if mr["merged_at"] else None}
            for mr in project.merge_requests
        }
        self.commits_by_sha = {c["id"]: c for c in project.commits}
        self.committed = {c["id"]: _epoch_of(c["committed_date"]) for c in project.commits}
        self.deployments_by_id = {d["id"]: d for d in project.deployments}
        self.deployment_times = {
            d["id"]: {
                "created_at": _epoch_of(d["created_at"]),
                "updated_at": _epoch_of(d["updated_at"]),
                "finished_at": _epoch_of(d["deployable"]["finished_at"]) if d["deployable"]["finished_at"] else None,
            }
            for d in project.deployments
        }

    def reachable(self, sha: str, first_parent: bool = False) -> set[str]:
        """Shas reachable from `sha` (itself included), through first parents only if asked."""
        seen, todo = set(), [sha]
        while todo:
            s = todo.pop()
            if s not in seen and s in self.commits_by_sha:
                seen.add(s)
                parents = self.commits_by_sha[s]["parent_ids"]
                todo += parents[:1] if first_parent else parents
        return seen


class GitLab(Source):
    """Projects' merge requests, their commits, repository commits and deployments, with offset pagination
    (`X-Next-Page` empty on the last page) and GitLab's `RateLimit-*` headers; merge requests' commits also through
    GraphQL (`POST /api/graphql`), whose requests count against the same per-minute limit."""

    prefix = "gitlab"
    # Routes match the whole path, so /api/graphql is never taken for an /api/v4/... route, nor the other way.
    routes: ClassVar = [
        (r"/api/graphql", "graphql"),
        (r"/api/v4/projects/([^/]+)", "project"),
        (r"/api/v4/projects/([^/]+)/merge_requests", "merge_requests"),
        (r"/api/v4/projects/([^/]+)/merge_requests/(\d+)", "merge_request"),
        (r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/commits", "merge_request_commits"),
        (r"/api/v4/projects/([^/]+)/repository/commits", "commits"),
        (r"/api/v4/projects/([^/]+)/deployments", "deployments"),
        (r"/api/v4/projects/([^/]+)/deployments/(\d+)", "deployment"),
    ]
    # Per minute. GitLab.com allows 2,000; a self-managed instance sets its own, and a higher one here keeps a
    # demo (thousands of requests in a minute) from waiting on a reset that nothing enforces.
    RATE_LIMIT = 20_000
    MAX_TOTALS = 10_000  # above this many records GitLab leaves out X-Total, X-Total-Pages and rel="last"

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        super().__init__(org, tokens)
        self._window = RateWindow(60)
        self._projects: dict[str, _ProjectIndex] = {}
        for path, project in org.gitlab.items():
            index = _ProjectIndex(project)
            self._projects[path] = self._projects[str(project.id)] = index
        self._graphql = GitlabGraphqlApi(org.gitlab)

    def authorised(self, req: Request) -> bool:
        token = self.tokens.get("gitlab", "")
        given = req.headers.get("PRIVATE-TOKEN") or (req.headers.get("Authorization") or "").removeprefix("Bearer ")
        return bool(token) and given == token

    def error(self, status: int, message: str) -> Response:
        if status == 401:
            return Response(401, {"message": "401 Unauthorized"})
        if status == 404 and message == "Not Found":  # no such route
            return Response(404, {"error": "404 Not Found"})
        if status == 400 and not message.startswith("400"):  # a parameter's validation
            return Response(400, {"error": message})
        return Response(status, {"message": message})

    def handle(self, req: Request) -> Response:
        resp = super().handle(req)
        window, used = self._window.count(req.headers.get("PRIVATE-TOKEN") or req.headers.get("Authorization") or "")
        reset = window + 60
        resp.headers |= {
            "RateLimit-Limit": str(self.RATE_LIMIT),
            "RateLimit-Observed": str(used),
            "RateLimit-Remaining": str(max(0, self.RATE_LIMIT - used)),
            "RateLimit-Reset": str(reset),
            "RateLimit-ResetTime": email.utils.formatdate(reset, usegmt=True),
        }
        return resp

    def _project(self, project_id: str) -> _ProjectIndex:
        index = self._projects.get(unquote(project_id))
        if index is None:
            raise ApiError(404, "404 Project Not Found")
        return index

    def _page(self, req: Request, items: list, totals: bool = True) -> Response:
        """Offset pagination as GitLab sends it: X-Page, X-Per-Page, X-Next-Page (empty on the last page),
        X-Prev-Page, X-Total and X-Total-Pages (not for commits, nor above 10,000 records) and `Link`."""
        per_page = req.int_arg("per_page", 20)
        per_page = 20 if per_page < 1 else min(100, per_page)
        page = max(1, req.int_arg("page", 1))
        pages = max(1, -(-len(items) // per_page))
        has_next = page * per_page < len(items)
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Next-Page": str(page + 1) if has_next else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        links = ([(page - 1, "prev")] if page > 1 else []) + ([(page + 1, "next")] if has_next else [])
        links.append((1, "first"))
        if totals and len(items) <= self.MAX_TOTALS:
            headers |= {"X-Total": str(len(items)), "X-Total-Pages": str(pages)}
            links.append((pages, "last"))
        headers["Link"] = ", ".join(f'<{req.url_with(page=p, per_page=per_page)}>; rel="{rel}"' for p, rel in links)
        return Response(200, items[(page - 1) * per_page : page * per_page], headers)

    @staticmethod
    def _choice(req: Request, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = req.arg(name, default)
        if value not in allowed:
            raise ApiError(400, f"{name} does not have a valid value")
        return value

    @staticmethod
    def _bounds(req: Request, prefix: str) -> tuple[int | None, int | None]:
        """`<prefix>_after` and `<prefix>_before` (inclusive) as epoch seconds."""
        return parse_time(req.arg(f"{prefix}_after")), parse_time(req.arg(f"{prefix}_before"))

    @staticmethod
    def _within(value: int | None, lo: int | None, hi: int | None) -> bool:
        return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)

    def graphql(self, req: Request) -> Response:
        """POST /api/graphql: a query of the subset `sample_org.gitlab_graphql` serves; its errors come with a 200."""
        if req.method != "POST":
            raise ApiError(404, "Not Found")
        credential = req.headers.get("PRIVATE-TOKEN") or req.headers.get("Authorization") or ""
        body, headers = self._graphql.answer(req.body, credential)
        return Response(200, body, headers)

    def project(self, req: Request, project_id: str) -> Response:
        """GET /projects/:id: a few fields of the project."""
        p = self._project(project_id).project
        namespace, name = p.path.rsplit("/", 1)
        return Response(
            200,
            {
                "id": p.id,
                "name": name,
                "path": name,
                "path_with_namespace": p.path,
                "default_branch": "main",
                "web_url": f"{GITLAB_WEB}/{p.path}",
                "namespace": {"path": namespace, "kind": "group"},
            },
        )

    def merge_requests(self, req: Request, project_id: str) -> Response:
        """GET /projects/:id/merge_requests: state, target_branch, source_branch, order_by, sort,
        created_/updated_after and _before (inclusive), iids[]."""
        index = self._project(project_id)
        state = self._choice(req, "state", ("opened", "closed", "locked", "merged", "all"), "all")
        order_by = self._choice(req, "order_by", ("created_at", "updated_at", "merged_at", "title"), "created_at")
        sort = self._choice(req, "sort", ("asc", "desc"), "desc")
        items = [mr for mr in index.project.merge_requests if state in ("all", mr["state"])]
        for param in ("target_branch", "source_branch"):
            if (value := req.arg(param)) is not None:
                items = [mr for mr in items if mr[param] == value]
        if iids := req.args("iids[]"):
            items = [mr for mr in items if str(mr["iid"]) in iids]
        for field_ in ("created", "updated"):
            lo, hi = self._bounds(req, field_)
            if lo is not None or hi is not None:
                items = [mr for mr in items if self._within(index.mr_times[mr["iid"]][f"{field_}_at"], lo, hi)]
        if order_by == "title":
            items = sorted(items, key=lambda mr: (mr["title"], mr["id"]), reverse=sort == "desc")
        else:  # unmerged requests sort as the oldest when ordered by merged_at
            items = sorted(
                items, key=lambda mr: (index.mr_times[mr["iid"]][order_by] or 0, mr["id"]), reverse=sort == "desc"
            )
        return self._page(req, items)

    def merge_request(self, req: Request, project_id: str, iid: str) -> Response:
        """GET /projects/:id/merge_requests/:iid."""
        mr = self._project(project_id).mrs_by_iid.get(int(iid))
        if mr is None:
            raise ApiError(404, "404 Not found")
        return Response(200, mr)

    def merge_request_commits(self, req: Request, project_id: str, iid: str) -> Response:
        """GET /projects/:id/merge_requests/:iid/commits, newest first."""
        index = self._project(project_id)
        if int(iid) not in index.mrs_by_iid:
            raise ApiError(404, "404 Not found")
        return self._page(req, index.project.merge_request_commits[int(iid)])

    def commits(self, req: Request, project_id: str) -> Response:
        """GET /projects/:id/repository/commits: ref_name (main, a sha, or `old..new`), since/until on the
        committed date (inclusive), first_parent; newest first, without totals (as GitLab)."""
        index = self._project(project_id)
        ref = req.arg("ref_name") or "main"
        first_parent = (req.arg("first_parent") or "").lower() == "true"
        old, _, new = ref.rpartition("..") if ".." in ref else ("", "", ref)
        for sha in (old, new):
            if sha and sha != "main" and sha not in index.commits_by_sha:
                raise ApiError(404, "404 Commit Not Found")
        items = index.project.commits
        if new != "main" or first_parent or old:
            head = index.project.commits[0]["id"] if new == "main" else new
            keep = index.reachable(head, first_parent)
            if old:
                keep -= index.reachable(index.project.commits[0]["id"] if old == "main" else old)
            items = [c for c in items if c["id"] in keep]
        since, until = parse_time(req.arg("since")), parse_time(req.arg("until"))
        if since is not None or until is not None:
            items = [c for c in items if self._within(index.committed[c["id"]], since, until)]
        return self._page(req, items, totals=False)

    def deployments(self, req: Request, project_id: str) -> Response:
        """GET /projects/:id/deployments: environment, status, order_by, sort (default id asc), updated_after and
        _before (only with order_by=updated_at), finished_after and _before (only with order_by=finished_at and
        status=success)."""
        index = self._project(project_id)
        order_by = self._choice(req, "order_by", ("id", "iid", "created_at", "updated_at", "finished_at", "ref"), "id")
        sort = self._choice(req, "sort", ("asc", "desc"), "asc")
        status = req.arg("status")
        if status is not None and status not in ("created", "running", "success", "failed", "canceled", "blocked"):
            raise ApiError(400, "status does not have a valid value")
        updated, finished = self._bounds(req, "updated"), self._bounds(req, "finished")
        if updated != (None, None) and order_by != "updated_at":
            raise ApiError(400, "400 Bad request - `updated_at` filter and `updated_at` sorting must be paired")
        if finished != (None, None) and (order_by != "finished_at" or status != "success"):
            raise ApiError(
                400, "400 Bad request - `finished_at` filter requires `finished_at` sort and `success` status filter"
            )
        if updated != (None, None) and finished != (None, None):
            raise ApiError(400, "400 Bad request - `updated_at` filter and `finished_at` filter can not be combined")
        items = index.project.deployments
        if (env := req.arg("environment")) is not None:
            items = [d for d in items if d["environment"]["name"] == env]
        if status is not None:
            items = [d for d in items if d["status"] == status]
        for name, (lo, hi) in (("updated_at", updated), ("finished_at", finished)):
            if lo is not None or hi is not None:
                items = [d for d in items if self._within(index.deployment_times[d["id"]][name], lo, hi)]
        if order_by in ("created_at", "updated_at", "finished_at"):
            items = sorted(items, key=lambda d: (index.deployment_times[d["id"]][order_by] or 0, d["id"]))
        elif order_by != "id":
            items = sorted(items, key=lambda d: (d[order_by], d["id"]))
        return self._page(req, items[::-1] if sort == "desc" else items)

    def deployment(self, req: Request, project_id: str, deployment_id: str) -> Response:
        """GET /projects/:id/deployments/:deployment_id."""
        found = self._project(project_id).deployments_by_id.get(int(deployment_id))
        if found is None:
            raise ApiError(404, "404 Not found")
        return Response(200, found)


# ----------------------------------------------------------------------------------------------------
# Jenkins JSON API (optional addition: serves the data of generate(..., source_mix=True) and the like)
# ----------------------------------------------------------------------------------------------------

Tree = dict[str, tuple["Tree | None", "tuple[int | None, int | None] | None"]]
_TREE_TOKEN = re.compile(r"\s*([\w$.]+)")


def parse_tree(text: str) -> Tree:
    """Jenkins' `tree` parameter: `name[subtree]{M,N}` items separated by commas (a range as `{M,N}`, `{M,}`,
    `{,N}` or `{N}`)."""

    def fields_at(pos: int) -> tuple[Tree, int]:
        tree: Tree = {}
        while True:
            m = _TREE_TOKEN.match(text, pos)
            if m is None:
                raise ApiError(400, f"Malformed tree expression at {pos}: {text!r}")
            name, pos = m.group(1), m.end()
            sub, span = None, None
            if text.startswith("[", pos):
                sub, pos = fields_at(pos + 1)
                if not text.startswith("]", pos):
                    raise ApiError(400, f"Unbalanced [ in tree expression: {text!r}")
                pos += 1
            if text.startswith("{", pos):
                close = text.find("}", pos)
                if close < 0:
                    raise ApiError(400, f"Unbalanced {{ in tree expression: {text!r}")
                span, pos = _tree_range(text[pos + 1 : close]), close + 1
            tree[name] = (sub, span)
            if not text.startswith(",", pos):
                return tree, pos
            pos += 1

    tree, pos = fields_at(0)
    if pos != len(text):
        raise ApiError(400, f"Malformed tree expression at {pos}: {text!r}")
    return tree


def _tree_range(text: str) -> tuple[int | None, int | None]:
    try:
        if "," not in text:
            return int(text), int(text) + 1
        lo, hi = text.split(",", 1)
        return (int(lo) if lo.strip() else None), (int(hi) if hi.strip() else None)
    except ValueError:
        raise ApiError(400, f"Malformed range in tree expression: {{{text}}}") from None


def apply_tree(value: object, tree: Tree | None) -> object:
    """`value` reduced to the fields `tree` names, as Jenkins does: `_class` is always kept, an object named
    without a subtree keeps only `_class`, and ranges slice arrays."""
    if isinstance(value, list):
        return [apply_tree(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    out = {"_class": value["_class"]} if "_class" in value else {}
    for name, (sub, span) in (tree or {}).items():
        if name in value:
            v = value[name]
            if isinstance(v, list) and span is not None:
                v = v[span[0] : span[1]]
            out[name] = apply_tree(v, sub) if sub is not None or isinstance(v, (dict, list)) else v
    return out


class Jenkins(Source):
    """Folders and Pipeline jobs at `/job/<a>/job/<b>/api/json`, with `tree` (fields and `{M,N}` ranges) and
    preemptive Basic authentication answered with 403 when wrong."""

    prefix = "jenkins"
    routes: ClassVar = [(r"((?:/job/[^/]+)*)(?:/(\d+))?/api/json", "api")]
    VERSION = "2.462.3"
    FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
    WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    MULTIBRANCH = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        super().__init__(org, tokens)
        self._jobs: dict[str, JenkinsJob] = dict(org.jenkins)
        self._folders = {"": "hudson.model.Hudson"}  # full name -> class, the root included
        self._children: dict[str, set[str]] = {"": set()}  # folder -> full names of its items
        for job in org.jenkins.values():
            parts = job.full_name.split("/")
            for depth in range(len(parts)):
                parent, here = "/".join(parts[:depth]), "/".join(parts[: depth + 1])
                self._children.setdefault(parent, set()).add(here)
                if depth < len(parts) - 1:  # a branch job's parent is its multibranch project
                    kind = self.MULTIBRANCH if job.multibranch and depth == len(parts) - 2 else self.FOLDER
                    self._folders.setdefault(here, kind)

    def authorised(self, req: Request) -> bool:
        user, token = self.tokens.get("jenkins_user", ""), self.tokens.get("jenkins", "")
        expected = base64.b64encode(f"{user}:{token}".encode()).decode()
        return bool(user and token) and req.headers.get("Authorization") == f"Basic {expected}"

    def error(self, status: int, message: str) -> Response:
        # Jenkins answers bad or missing credentials with 403, never 401, and does no challenge.
        status = 403 if status == 401 else status
        text = {403: "Forbidden", 404: "Not Found"}.get(status, message)
        return Response(status, {"servlet": "Stapler", "message": text, "url": message, "status": str(status)})

    def handle(self, req: Request) -> Response:
        resp = super().handle(req)
        resp.headers["X-Jenkins"] = self.VERSION
        return resp

    def _url(self, full_name: str) -> str:
        return JENKINS_WEB + "/" + "".join(f"job/{quote(part, safe='')}/" for part in full_name.split("/") if part)

    def api(self, req: Request, job_path: str, number: str | None) -> Response:
        """GET [/job/<a>[/job/<b>...]][/<build number>]/api/json?tree=...: root, folder, job or build."""
        # Each path segment is a job name URL-encoded once: `feature%252Fone` is the job `feature%2Fone`.
        full_name = "/".join(unquote(part) for part in job_path.split("/job/") if part)
        tree = parse_tree(req.arg("tree")) if req.arg("tree") else None
        if full_name in self._jobs:
            job = self._jobs[full_name]
            if number is not None:
                build = next((b for b in job.builds if b["number"] == int(number)), None)
                if build is None:
                    raise ApiError(404, req.path)
                return Response(200, build if tree is None else apply_tree(build, tree))
            return Response(200, self._job(job, tree))
        if number is None and full_name in self._folders:
            jobs = [
                {
                    "_class": self._folders.get(child, self.WORKFLOW_JOB),
                    "name": child.rsplit("/", 1)[-1],
                    "url": self._url(child),
                }
                for child in sorted(self._children.get(full_name, ()))
            ]
            body = {
                "_class": self._folders[full_name],
                "name": full_name.rsplit("/", 1)[-1],
                "fullName": full_name,
                "url": self._url(full_name),
                "jobs": jobs,
            }
            return Response(200, body if tree is None else apply_tree(body, tree))
        raise ApiError(404, req.path)

    def _job(self, job: JenkinsJob, tree: Tree | None) -> dict:
        builds = job.builds
        name = job.full_name.rsplit("/", 1)[-1]

        def ref(build: dict | None) -> dict | None:
            return (
                None if build is None else {"_class": build["_class"], "number": build["number"], "url": build["url"]}
            )

        last_completed = next((b for b in builds if not b["building"]), None)
        body = {
            "_class": self.WORKFLOW_JOB,
            "name": name,
            "fullName": job.full_name,
            "displayName": unquote(name),
            "url": job.url,
            "buildable": True,
            "inQueue": False,
            "nextBuildNumber": builds[0]["number"] + 1 if builds else 1,
            "firstBuild": ref(builds[-1] if builds else None),
            "lastBuild": ref(builds[0] if builds else None),
            "lastCompletedBuild": ref(last_completed),
            "lastSuccessfulBuild": ref(next((b for b in builds if b["result"] == "SUCCESS"), None)),
            "lastFailedBuild": ref(next((b for b in builds if b["result"] == "FAILURE"), None)),
        }
        if tree is None:  # the default depth: builds by reference, no allBuilds
            return body | {"builds": [ref(b) for b in builds[:100]]}
        # `builds` is the newest 100 only; `allBuilds` every retained build, sent only when the tree names it.
        wanted = {"builds": builds[:100], "allBuilds": builds}
        return apply_tree(body | {k: v for k, v in wanted.items() if k in tree}, tree)


# ----------------------------------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------------------------------

Interceptor = Callable[[Request], Response | None]
SOURCES: list[type[Source]] = [GitHub, PagerDuty, Jira, Opsgenie, GitLab, Jenkins]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries its Content-Length
    disable_nagle_algorithm = True  # else a response's last partial segment can wait ~40 ms for a delayed ACK
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            resp = self.server.app.dispatch(self.command, self.path, self.headers, body)
        except Exception as e:  # a bug in a route answers 500 rather than dropping the connection
            resp = Response(500, {"message": f"Internal Server Error ({type(e).__name__})"})
        # orjson: the stdlib encoder was a quarter of the server's CPU on GitHub's GraphQL pages (py-spy).
        data = orjson.dumps(resp.body, option=orjson.OPT_NON_STR_KEYS)
        self.send_response(resp.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if self.request_version == "HTTP/0.9":  # no headers at all (send_header wrote none)
            self.wfile.write(data)
            return
        # Headers and body in one write: one system call and one segment a response, not two.
        self._headers_buffer.extend((b"\r\n", data))
        self.flush_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet, and request lines or headers (credentials) never reach a log


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: SampleServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # only socket errors get here (a client hanging up mid-response): not worth a traceback


class SampleServer:
    """Serves `org` on loopback. Use as a context manager, or call `start()` and `stop()`.

    `tokens` (keys `github`, `pagerduty`, `jira_user`, `jira`, and `opsgenie`, `gitlab`, `jenkins_user`,
    `jenkins` if used) turns authentication on: each source then answers 401 (Jenkins 403), in its own error shape,
    to a request without its credential.
    """

    def __init__(self, org: Organisation, host: str = "127.0.0.1", port: int = 0,
                 tokens: dict[str, str] | None = None) -> None:  # fmt: skip
        self.org, self.host, self.port = org, host, port
        self.sources: dict[str, Source] = {s.prefix: s(org, tokens) for s in SOURCES}
        self.interceptors: list[Interceptor] = []  # e.g. fault injection; the first non-None answer wins
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (sources live under /github, /pagerduty, /jira)."""
        if self._httpd is None:
            raise RuntimeError("SampleServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SampleServer:
        """Bind and serve in a daemon thread."""
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), _Handler)
            self._httpd.app = self
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="sample-org",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = self._thread = None

    def __enter__(self) -> SampleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def dispatch(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        """Answer one request (also usable without a socket, e.g. in tests)."""
        split = urlsplit(target)
        prefix, _, rest = split.path.lstrip("/").partition("/")
        source = self.sources.get(prefix)
        base = f"{self.url}/{prefix}" if self._httpd is not None else f"/{prefix}"
        query = parse_qsl(split.query, keep_blank_values=True)
        req = Request(method, "/" + rest.rstrip("/"), query, headers, body, base)
        for intercept in self.interceptors:
            if (answer := intercept(req)) is not None:
                return answer
        if source is None:
            return Response(404, {"message": "Not Found"})
        return source.handle(req)
