"""A loopback HTTP server that serves an `Organisation` the way GitHub, PagerDuty and Jira Cloud do.

One server, one URL prefix per source (`/github`, `/pagerduty`, `/jira`), each a `Source` with its own
authentication rule, error shape, pagination and routes. A new source is a new `Source` subclass listed in
`SOURCES`; a fault-injection mode is an interceptor appended to `SampleServer.interceptors` (a callable that
may answer a request before its source does, e.g. with a 429 or a 500).

Only what connectors read is served (GET list endpoints, plus Jira's POST search). Payload URLs (`url`,
`self`, `html_url`) keep the public hosts of the generated data; only pagination links point at this server.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
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
from urllib.parse import parse_qsl, urlencode, urlsplit

from sample_org.generator import GitHubRepo, Organisation, gh_time, jira_time


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


# ----------------------------------------------------------------------------------------------------
# GitHub REST v3
# ----------------------------------------------------------------------------------------------------


class GitHub(Source):
    """Deployments, deployment statuses, pulls, pull commits and commits, with `Link` pagination."""

    prefix = "github"
    routes: ClassVar = [
        (r"/repos/([^/]+)/([^/]+)", "repo"),
        (r"/repos/([^/]+)/([^/]+)/deployments", "deployments"),
        (r"/repos/([^/]+)/([^/]+)/deployments/(\d+)/statuses", "statuses"),
        (r"/repos/([^/]+)/([^/]+)/pulls", "pulls"),
        (r"/repos/([^/]+)/([^/]+)/pulls/(\d+)/commits", "pull_commits"),
        (r"/repos/([^/]+)/([^/]+)/commits", "commits"),
    ]
    RATE_LIMIT = 15_000  # a GitHub App's hourly budget; high enough that a demo never waits for a reset
    DOCS = "https://docs.github.com/rest"

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        super().__init__(org, tokens)
        self._lock = threading.Lock()
        self._used: dict[str, tuple[int, int]] = {}  # credential -> (window start, requests in window)

    def authorised(self, req: Request) -> bool:
        token = self.tokens.get("github", "")
        return bool(token) and req.headers.get("Authorization") in (f"Bearer {token}", f"token {token}")

    def error(self, status: int, message: str) -> Response:
        if status == 401:
            message = "Bad credentials"
        return Response(status, {"message": message, "documentation_url": self.DOCS, "status": str(status)})

    def handle(self, req: Request) -> Response:
        resp = super().handle(req)
        # Count every request against its credential's hourly window, the way GitHub reports it.
        key = hashlib.sha256((req.headers.get("Authorization") or "").encode()).hexdigest()
        now = int(time.time())
        with self._lock:
            window, used = self._used.get(key, (now, 0))
            if now >= window + 3600:
                window, used = now, 0
            self._used[key] = (window, used + 1)
        resp.headers |= {
            "x-ratelimit-limit": str(self.RATE_LIMIT),
            "x-ratelimit-remaining": str(max(0, self.RATE_LIMIT - used - 1)),
            "x-ratelimit-reset": str(window + 3600),
            "x-ratelimit-used": str(used + 1),
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
        return Response(200, items[(page - 1) * per_page : page * per_page], headers)

    @staticmethod
    def _since_until(req: Request) -> tuple[str, str]:
        # Every GitHub timestamp has the same fixed-width format, so string comparison is time comparison.
        try:
            since, until = parse_time(req.arg("since")), parse_time(req.arg("until"))
        except ApiError as e:
            raise ApiError(422, e.message) from None
        return ("" if since is None else gh_time(since)), ("~" if until is None else gh_time(until))

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
    ]
    CODES: ClassVar = {
        400: ("Invalid Input Provided", 2001),
        401: ("Authentication failed", 2006),
        404: ("Not Found", 2100),
    }

    def __init__(self, org: Organisation, tokens: Mapping[str, str] | None) -> None:
        super().__init__(org, tokens)
        self._newest_entries = org.pagerduty_log_entries[::-1]
        self._now = calendar.timegm(org.end.timetuple())  # the organisation's "now": its end

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
        items = [i for i in self.org.pagerduty_incidents if since <= i["created_at"] < until]
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
        items = [e for e in self._newest_entries if e["incident"]["id"] == incident_id]
        return self._page(req, "log_entries", items)

    def log_entries(self, req: Request) -> Response:
        """GET /log_entries: since/until on created_at, newest first."""
        # Only overview entries (trigger, acknowledge, resolve) exist here, so `is_overview` changes nothing.
        since, until = self._window(req)
        return self._page(req, "log_entries", [e for e in self._newest_entries if since <= e["created_at"] < until])


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
        matches, order = compile_jql(jql)
        items = [i for i in self.org.jira_issues if matches(i)]
        for name, descending in reversed(order or [("created", False)]):
            items.sort(key=lambda i: i["fields"][name], reverse=descending)
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

    def authorised(self, req: Request) -> bool:
        token = self.tokens.get("opsgenie", "")
        return bool(token) and req.headers.get("Authorization") == f"GenieKey {token}"

    def error(self, status: int, message: str) -> Response:
        if status == 401:
            message = "Could not authenticate"
        return Response(status, {"message": message, "took": 0.001, "requestId": _request_id()})

    def _query(self, text: str) -> Callable[[dict], bool]:
        """A small subset of Opsgenie's query language: terms joined with AND; times in epoch milliseconds."""
        tests = []
        for term in filter(None, re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)):
            m = _OG_TERM.fullmatch(term)
            if m is None:
                raise ApiError(422, f"Invalid query: {term}")
            name, op, value = m.groups()
            if name in ("teams", "responders") and op == ":":
                team_id = self.org.opsgenie_teams.get(value, value)
                tests.append(lambda x, t=team_id: any(r["id"] == t for r in x["responders"]))
            elif name == "status" and op == ":":
                tests.append(lambda x, v=value: x["status"] == v)
            elif name in ("createdAt", "updatedAt") and op != ":" and value.isdigit():
                bound = gh_time(int(value) // 1000)[:-1] + f".{int(value) % 1000:03d}Z"
                compare = {">=": str.__ge__, ">": str.__gt__, "<=": str.__le__, "<": str.__lt__}[op]
                tests.append(lambda x, n=name, b=bound, c=compare: c(x[n], b))
            else:
                raise ApiError(422, f"Invalid query: {term}")
        return lambda x: all(t(x) for t in tests)

    def _list(self, req: Request, items: list[dict]) -> Response:
        sort, order = req.arg("sort", "createdAt"), req.arg("order", "desc")
        if sort not in ("createdAt", "updatedAt") or order not in ("asc", "desc"):
            raise ApiError(422, "Invalid sort or order")
        items = sorted(filter(self._query(req.arg("query", "")), items), key=lambda x: (x[sort], x["id"]),
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


def _request_id() -> str:
    return str(uuid.uuid4())


# ----------------------------------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------------------------------

Interceptor = Callable[[Request], Response | None]
SOURCES: list[type[Source]] = [GitHub, PagerDuty, Jira, Opsgenie]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries its Content-Length
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this each costs ~40 ms
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
        data = json.dumps(resp.body, separators=(",", ":")).encode()
        self.send_response(resp.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet, and request lines or headers (credentials) never reach a log


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: SampleServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # only socket errors get here (a client hanging up mid-response): not worth a traceback


class SampleServer:
    """Serves `org` on loopback. Use as a context manager, or call `start()` and `stop()`.

    `tokens` (keys `github`, `pagerduty`, `jira_user`, `jira`, and `opsgenie` if used) turns authentication
    on: each source then answers 401, in its own error shape, to a request without its credential.
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
