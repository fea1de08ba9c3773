"""GitHub's GraphQL API (`POST /graphql`) over repositories held in their REST shapes (`GitHubRepo`).

A small strict GraphQL reader and executor for the part of GitHub's schema opmetrics queries: `repository` with its
`deployments` (their `statuses`) and `pullRequests` (their `commits`, each commit's `parents`), `node(id:)` for a
deployment, pull request or commit, and `rateLimit`. Queries may use variables, aliases, named and inline fragments
and `__typename`; anything else (directives, mutations, fields outside this subset) is refused with GitHub's
error shape, as a field GitHub does not have would be.

As GitHub does, it answers with HTTP 200 and `errors` for every query error, pages connections by opaque cursors
(`first` is required and at most 100, `after` the `endCursor` of the page before), refuses a query whose
connections could return more than 500,000 nodes, and charges each query points: the number of connections it
opens (each connection once per node of the connections it is nested in), divided by 100 and rounded, at least
one. `rateLimit` reports the query's cost and what is left of the hour's budget, and a query that costs more than
is left is refused with `RATE_LIMITED`.

Nodes are the REST records rendered on the fly the way GraphQL names them (`databaseId` is REST's `id`, a node's
`id` REST's `node_id`, a bot's login has no `[bot]`), from the indexes the sample data already has (per
repository, per deployment, per pull request): nothing is scanned per query, so a sync of millions of records stays
as fast as its REST counterpart.

The reader and the run are not GitHub's alone: `sample_org/gitlab_graphql.py` subclasses `GraphqlApi` with GitLab's
schema, roots, limits and error shape.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from sample_org.generator import GitHubRepo, gh_time

MAX_FIRST = 100
MAX_NODES = 500_000
# Far above GitHub's 5,000 points an hour (12,500 for a GitHub App), so the demo and the 1,000-service benchmark
# never wait; tests that need a budget to run out give the API a smaller one.
POINTS_PER_HOUR = 1_000_000
PULL_COMMITS_CAP = 250  # GitHub lists at most 250 commits of a pull request, in GraphQL as in REST


class GraphqlError(Exception):
    """A query error, answered in GitHub's shape: `{"errors": [{"type": ..., "message": ...}]}`."""

    def __init__(self, message: str, kind: str | None = None, path: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message, self.kind, self.path = message, kind, path

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.kind:
            error["type"] = self.kind
        if self.path:
            error["path"] = self.path
        return error


# --- reading queries --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<skip>[\s,]+|\#[^\n]*)
      | (?P<spread>\.\.\.)
      | (?P<punct>[{}()\[\]:!$=@])
      | (?P<string>"(?:[^"\\\n]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[_A-Za-z][_0-9A-Za-z]*)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Var:
    """A `$variable` in an argument."""

    name: str


@dataclass(frozen=True)
class Enum:
    """An enum value (`DESC`, `MERGED`)."""

    name: str


@dataclass
class Selection:
    """A field (`alias: name(args) { ... }`), an inline fragment (`on` set) or a fragment spread (`spread` set)."""

    alias: str = ""
    name: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Selection] | None = None
    on: str | None = None  # inline fragment's type condition
    spread: str | None = None  # named fragment
    at: int = -1  # the character of the document it starts at, for an error's `locations`


@dataclass
class Document:
    """One operation (its variables and selections) and the named fragments it uses."""

    variables: dict[str, tuple[str, Any]]  # name -> (type as written, default)
    selections: list[Selection]
    fragments: dict[str, tuple[str, list[Selection]]]  # name -> (type condition, selections)
    text: str = ""  # the document as sent, which `Selection.at` points into
    # (selection set, type, node's actual type) -> its fields with fragments spread: worked out once per document,
    # not once per node of every answer.
    flat: dict[tuple[int, str, str | None], list[tuple[Selection, str]]] = field(default_factory=dict)
    # the same for objects, each field with how `_select` answers it (`_steps`)
    steps: dict[tuple[int, str, str | None], list[tuple[str, int, Any, Selection]]] = field(default_factory=dict)


class _Reader:
    """Recursive descent over the tokens of one document."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        self.starts: list[int] = []  # each token's first character
        at = 0
        while at < len(text):
            m = _TOKEN.match(text, at)
            if m is None:
                raise GraphqlError(f"Parse error on {text[at : at + 10]!r} at character {at}")
            at = m.end()
            if m.lastgroup != "skip":
                self.tokens.append((m.lastgroup or "", m.group()))
                self.starts.append(m.start())
        self.at = 0

    def peek(self, value: str | None = None) -> bool:
        return self.at < len(self.tokens) and (value is None or self.tokens[self.at][1] == value)

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        if self.at >= len(self.tokens):
            raise GraphqlError("Parse error: unexpected end of document")
        got_kind, got = self.tokens[self.at]
        if (kind and got_kind != kind) or (value and got != value):
            raise GraphqlError(f"Parse error on {got!r}: expected {value or kind}")
        self.at += 1
        return got

    def document(self) -> Document:
        operation: tuple[dict[str, tuple[str, Any]], list[Selection]] | None = None
        fragments: dict[str, tuple[str, list[Selection]]] = {}
        while self.peek():
            if self.peek("fragment"):
                self.take()
                name = self.take("name")
                self.take("name", "on")
                fragments[name] = (self.take("name"), self.selection_set())
                continue
            if operation is not None:
                raise GraphqlError("This endpoint answers one operation per document")
            variables: dict[str, tuple[str, Any]] = {}
            if not self.peek("{"):
                kind = self.take("name")
                if kind != "query":
                    raise GraphqlError(f"Only queries are served here, not a {kind}")
                if not self.peek("(") and not self.peek("{"):
                    self.take("name")
                if self.peek("("):
                    variables = self.variable_definitions()
            if self.peek("@"):
                raise GraphqlError("Directives are not served here")
            operation = (variables, self.selection_set())
        if operation is None:
            raise GraphqlError("No operations in the document")
        return Document(operation[0], operation[1], fragments, self.text)

    def variable_definitions(self) -> dict[str, tuple[str, Any]]:
        self.take(value="(")
        found: dict[str, tuple[str, Any]] = {}
        while not self.peek(")"):
            self.take(value="$")
            name = self.take("name")
            self.take(value=":")
            kind = self.type_ref()
            default = None
            if self.peek("="):
                self.take()
                default = self.value()
            found[name] = (kind, default)
        self.take(value=")")
        return found

    def type_ref(self) -> str:
        if self.peek("["):
            self.take()
            inner = self.type_ref()
            self.take(value="]")
            kind = f"[{inner}]"
        else:
            kind = self.take("name")
        if self.peek("!"):
            self.take()
            kind += "!"
        return kind

    def selection_set(self) -> list[Selection]:
        self.take(value="{")
        selections: list[Selection] = []
        while not self.peek("}"):
            selections.append(self.selection())
        self.take(value="}")
        if not selections:
            raise GraphqlError("Parse error: an empty selection set")
        return selections

    def selection(self) -> Selection:
        start = self.starts[self.at] if self.at < len(self.starts) else -1
        if self.peek("..."):
            self.take()
            if self.peek("on"):
                self.take()
                on = self.take("name")
                return Selection(on=on, selections=self.selection_set())
            return Selection(spread=self.take("name"))
        alias = name = self.take("name")
        if self.peek(":"):
            self.take()
            name = self.take("name")
        args: dict[str, Any] = {}
        if self.peek("("):
            self.take()
            while not self.peek(")"):
                key = self.take("name")
                self.take(value=":")
                args[key] = self.value()
            self.take(value=")")
        if self.peek("@"):
            raise GraphqlError("Directives are not served here")
        selections = self.selection_set() if self.peek("{") else None
        return Selection(alias=alias, name=name, args=args, selections=selections, at=start)

    def value(self) -> Any:
        kind, text = self.tokens[self.at] if self.at < len(self.tokens) else ("", "")
        if text == "$":
            self.take()
            return Var(self.take("name"))
        if text == "[":
            self.take()
            items = []
            while not self.peek("]"):
                items.append(self.value())
            self.take(value="]")
            return items
        if text == "{":
            self.take()
            obj = {}
            while not self.peek("}"):
                key = self.take("name")
                self.take(value=":")
                obj[key] = self.value()
            self.take(value="}")
            return obj
        self.take()
        if kind == "string":
            return json.loads(text)
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            return (
                {"true": True, "false": False, "null": None}[text] if text in ("true", "false", "null") else Enum(text)
            )
        raise GraphqlError(f"Parse error on {text!r}: expected a value")


@lru_cache(maxsize=64)
def parse(text: str) -> Document:
    """The document of a query (cached: a sync sends the same few queries over and over)."""
    return _Reader(text).document()


# --- the schema subset, resolved straight from the REST records -------------------------------------------------


@dataclass(frozen=True)
class _Repo:
    """One repository's records in the orders GraphQL lists them, built once when the API starts."""

    name: str
    data: GitHubRepo  # deployments newest first, statuses newest first, pull commits oldest first, as REST lists them
    pulls_by_key: dict[tuple[Any, ...], list[dict]] = field(default_factory=dict)  # filtered, sorted listings
    by_sha: dict[str, dict] = field(default_factory=dict)  # every commit (a commit's parents)
    # The mainline's committer dates oldest first, when the mainline lists them newest first (as the generator
    # writes it): `history(since:)` is then a prefix found by bisection. None: filter commit by commit.
    dates_ascending: list[str] | None = None
    indexed_commits: list[dict] | None = None  # the mainline list the dates were read from
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, name: str, data: GitHubRepo) -> _Repo:
        """A repository with its lookups built now, at start-up: built on a first request instead, they cost the
        daily run a walk of every repository's whole history (0.6-1 s at 1,000 services x 730 days). The
        repository's commits must not change once the server has started (tests build their data before)."""
        by_sha = {c["sha"]: c for listed in [*data.pull_commits.values(), data.commits] for c in listed}
        dates = [c["commit"]["committer"]["date"] for c in reversed(data.commits)]
        ordered = all(a <= b for a, b in itertools.pairwise(dates))
        return cls(name, data, by_sha=by_sha, dates_ascending=dates if ordered else None, indexed_commits=data.commits)

    def commit(self, sha: str) -> dict:
        """The commit `sha` (of the mainline or of a pull request's branch)."""
        return self.by_sha.get(sha) or {"sha": sha}

    def history_since(self, since: str) -> list[dict]:
        """The mainline's commits committed at or after `since`, newest first."""
        commits = self.data.commits
        dates = self.dates_ascending
        if dates is None or commits is not self.indexed_commits or len(commits) != len(dates):
            return [c for c in commits if c["commit"]["committer"]["date"] >= since]
        return commits[: len(commits) - bisect.bisect_left(dates, since)]

    def pulls(self, states: frozenset[str], order: str, descending: bool) -> list[dict]:
        key = (states, order, descending)
        with self.lock:
            if key not in self.pulls_by_key:
                stamp = "updated_at" if order == "UPDATED_AT" else "created_at"
                found = [p for p in self.data.pulls if _pull_state(p) in states]
                self.pulls_by_key[key] = sorted(found, key=lambda p: (p[stamp], p["number"]), reverse=descending)
            return self.pulls_by_key[key]


def _pull_state(pull: Mapping[str, Any]) -> str:
    if pull.get("merged_at"):
        return "MERGED"
    return "OPEN" if pull.get("state") == "open" else "CLOSED"


def _actor(user: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A REST user as GraphQL's Actor: a bot is named by its app's slug, without REST's `[bot]`."""
    if not user:
        return None
    login = user.get("login") or ""
    if user.get("type") == "Bot":
        return {"__typename": "Bot", "login": login.removesuffix("[bot]")}
    return {"__typename": user.get("type") or "User", "login": login}


def _ref(deployment: Mapping[str, Any]) -> dict[str, str] | None:
    """The Ref a deployment was made from; none when it was made from a commit (REST's ref is then the sha)."""
    ref = deployment.get("ref")
    if not ref or ref == deployment.get("sha"):
        return None
    return {"name": ref, "prefix": "refs/heads/"}


@dataclass(frozen=True)
class _Field:
    """A field of a type: a scalar or object read from the record, or a connection (`node` is its item type).

    `items`, `find` and `total` get the record's context first: its `_Repo` here, what a subclass's `_root` passes on.
    """

    get: Callable[[Any], Any] | None = None
    object: str | None = None  # the object type of an object field
    node: str | None = None  # the item type of a connection
    items: Callable[[Any, Any, dict[str, Any]], list[Any]] | None = None  # a connection's items, all of them
    find: Callable[[Any, Any, dict[str, Any]], Any] | None = None  # an object field that takes arguments
    total: Callable[[Any, Any, list[Any]], int] | None = None  # totalCount, when not len(items)
    args: frozenset[str] = frozenset()  # the arguments it takes besides first/after
    key: str | None = None  # a scalar read as `record.get(key)`: looked up in place, not through `get`


def _scalar(get: Callable[[Any], Any]) -> _Field:
    return _Field(get=get)


def _key(name: str) -> _Field:
    return _Field(get=lambda record: record.get(name), key=name)


def _deployment_items(repo: _Repo, _: Any, args: dict[str, Any]) -> list[dict]:
    order = args.get("orderBy") or {"field": Enum("CREATED_AT"), "direction": Enum("ASC")}
    descending = _enum(order.get("direction")) == "DESC"
    items = repo.data.deployments if descending else repo.data.deployments[::-1]
    if args.get("environments"):
        wanted = set(args["environments"])
        items = [d for d in items if d["environment"] in wanted]
    return items


def _status_items(repo: _Repo, deployment: dict, _: dict[str, Any]) -> list[dict]:
    return repo.data.statuses.get(deployment["id"], [])[::-1]  # REST lists newest first, GraphQL oldest first


def _pull_items(repo: _Repo, _: Any, args: dict[str, Any]) -> list[dict]:
    states = frozenset(_enum(s) for s in args.get("states") or ["OPEN", "CLOSED", "MERGED"])
    order = args.get("orderBy") or {"field": Enum("CREATED_AT"), "direction": Enum("ASC")}
    return repo.pulls(states, _enum(order.get("field")), _enum(order.get("direction")) == "DESC")


def _pull_commit_items(repo: _Repo, pull: dict, _: dict[str, Any]) -> list[dict]:
    return repo.data.pull_commits.get(pull["number"], [])[:PULL_COMMITS_CAP]


def _parent_items(repo: _Repo, commit: dict, _: dict[str, Any]) -> list[dict]:
    return [repo.commit(p["sha"]) for p in commit.get("parents") or []]


def _branch(repo: _Repo, _: Any, args: dict[str, Any]) -> dict[str, Any] | None:
    """`ref(qualifiedName:)`: the sample repositories have one branch, `main`, whose head is their newest commit."""
    if args.get("qualifiedName") not in ("main", "refs/heads/main") or not repo.data.commits:
        return None
    return {"name": "main", "prefix": "refs/heads/", "target": ("Commit", repo, repo.data.commits[0])}


def _history_items(repo: _Repo, commit: dict, args: dict[str, Any]) -> list[dict]:
    """`Commit.history` of the branch head: the mainline in git-log order, `since` (a committer date) on."""
    commits = repo.data.commits
    if not commits or commit["sha"] != commits[0]["sha"]:
        raise GraphqlError("The sample organisation serves the history of a branch head only")
    since = args.get("since")
    # Every timestamp has the same fixed-width format, so string comparison is time comparison.
    return repo.history_since(since) if since else commits


SCHEMA: dict[str, dict[str, _Field]] = {
    "Query": {
        "rateLimit": _Field(object="RateLimit", get=lambda q: q["rateLimit"]),
        "repository": _Field(object="Repository", args=frozenset({"owner", "name", "followRenames"})),
        "node": _Field(object="Node", args=frozenset({"id"})),
    },
    "RateLimit": {name: _key(name) for name in ("cost", "limit", "nodeCount", "remaining", "resetAt", "used")},
    "Repository": {
        "nameWithOwner": _scalar(lambda r: r.name),
        "isEmpty": _scalar(lambda r: not r.data.commits),
        "deployments": _Field(node="Deployment", items=_deployment_items, args=frozenset({"orderBy", "environments"})),
        "pullRequests": _Field(node="PullRequest", items=_pull_items, args=frozenset({"orderBy", "states"})),
        "ref": _Field(object="Ref", find=_branch, args=frozenset({"qualifiedName"})),
    },
    "Deployment": {
        "id": _key("node_id"),
        "databaseId": _key("id"),
        "commitOid": _key("sha"),
        "environment": _key("environment"),
        "latestEnvironment": _key("environment"),
        "originalEnvironment": _key("original_environment"),
        "task": _key("task"),
        "description": _key("description"),
        "createdAt": _key("created_at"),
        "updatedAt": _key("updated_at"),
        "ref": _Field(object="Ref", get=_ref),
        "creator": _Field(object="Actor", get=lambda d: _actor(d.get("creator"))),
        "statuses": _Field(node="DeploymentStatus", items=_status_items),
    },
    "DeploymentStatus": {
        "id": _key("node_id"),
        "state": _scalar(lambda s: str(s["state"]).upper()),
        "description": _key("description"),
        "environment": _key("environment"),
        "environmentUrl": _key("environment_url"),
        "logUrl": _key("log_url"),
        "createdAt": _key("created_at"),
        "updatedAt": _key("updated_at"),
        "creator": _Field(object="Actor", get=lambda s: _actor(s.get("creator"))),
    },
    "PullRequest": {
        "id": _key("node_id"),
        "databaseId": _key("id"),
        "number": _key("number"),
        "title": _key("title"),
        "state": _scalar(_pull_state),
        "merged": _scalar(lambda p: bool(p.get("merged_at"))),
        "createdAt": _key("created_at"),
        "updatedAt": _key("updated_at"),
        "closedAt": _key("closed_at"),
        "mergedAt": _key("merged_at"),
        "baseRefName": _scalar(lambda p: (p.get("base") or {}).get("ref")),
        "baseRefOid": _scalar(lambda p: (p.get("base") or {}).get("sha")),
        "headRefName": _scalar(lambda p: (p.get("head") or {}).get("ref")),
        "headRefOid": _scalar(lambda p: (p.get("head") or {}).get("sha")),
        # REST's merge_commit_sha is the merge commit once merged, GitHub's test merge before.
        "mergeCommit": _Field(
            object="GitObjectId", get=lambda p: {"oid": p["merge_commit_sha"]} if p.get("merged_at") else None
        ),
        "potentialMergeCommit": _Field(
            object="GitObjectId", get=lambda p: None if p.get("merged_at") else {"oid": p.get("merge_commit_sha")}
        ),
        "author": _Field(object="Actor", get=lambda p: _actor(p.get("user"))),
        "commits": _Field(
            node="PullRequestCommit",
            items=_pull_commit_items,
            total=lambda repo, pull, _: len(repo.data.pull_commits.get(pull["number"], [])),
        ),
    },
    "PullRequestCommit": {"commit": _Field(object="Commit", get=lambda c: c)},
    "Commit": {
        "id": _key("node_id"),
        "oid": _key("sha"),
        "message": _scalar(lambda c: c["commit"]["message"]),
        "authoredDate": _scalar(lambda c: c["commit"]["author"]["date"]),
        "committedDate": _scalar(lambda c: c["commit"]["committer"]["date"]),
        "author": _Field(object="GitActor", get=lambda c: c["commit"]["author"]),
        "committer": _Field(object="GitActor", get=lambda c: c["commit"]["committer"]),
        "parents": _Field(node="Commit", items=_parent_items),
        "history": _Field(node="Commit", items=_history_items, args=frozenset({"since"})),
    },
    "GitActor": {"name": _key("name"), "email": _key("email"), "date": _key("date")},
    "GitObjectId": {"oid": _key("oid")},
    "Ref": {
        "name": _key("name"),
        "prefix": _key("prefix"),
        "target": _Field(object="GitObject", get=lambda ref: ref.get("target")),
    },
    "GitObject": {"id": _key("node_id"), "oid": _key("sha")},
    "Actor": {"login": _key("login")},
    "PageInfo": {name: _key(name) for name in ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")},
    "Node": {"id": _key("node_id")},
}
CONNECTION = {"pageInfo": "PageInfo", "nodes": None, "totalCount": None}  # fields of every `...Connection`
# Interfaces and the types behind them: a value of one is (its type, its repository, its record).
INTERFACES = {"Node": ("Deployment", "PullRequest", "Commit"), "GitObject": ("Commit",)}


# How `_select` answers a field (`GraphqlApi._steps`).
_KEY, _GET, _TYPENAME, _ROOT, _CONNECTION, _OBJECT = 0, 1, 2, 3, 4, 5


def _enum(value: Any) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def cursor_at(index: int) -> str:
    """The opaque cursor of the item at `index` of a connection."""
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def cursor_index(cursor: str) -> int:
    """The index a cursor of `cursor_at` stands for; a GraphqlError for anything else."""
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        if text.startswith("cursor:v2:") and text[10:].isdigit():
            return int(text[10:])
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise GraphqlError(f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS")


# --- executing -------------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What one request asks for, once its variables are in: the nodes it may return and the points it costs."""

    variables: dict[str, Any]
    requests: int = 0
    nodes: int = 0


class GraphqlApi:
    """Answers GitHub GraphQL queries over `repos` (by "owner/name"), charging each credential's hourly budget.

    Another API's schema reuses the reader and the run by subclassing: its own `schema`, `interfaces`,
    `connection` fields and `roots` (the Query fields `_root` answers), its own `_root`, check and `answer`.
    """

    schema: ClassVar[dict[str, dict[str, _Field]]] = SCHEMA
    interfaces: ClassVar[dict[str, tuple[str, ...]]] = INTERFACES
    connection: ClassVar[dict[str, str | None]] = CONNECTION  # the fields of every `...Connection`
    roots: ClassVar[frozenset[str]] = frozenset({"repository", "node"})
    default_first: ClassVar[int | None] = None  # a connection's page without `first` (GitHub requires `first`)

    def __init__(self, repos: Mapping[str, GitHubRepo], points_per_hour: int = POINTS_PER_HOUR) -> None:
        self.repos = {name: _Repo.of(name, repo) for name, repo in repos.items()}
        self.points_per_hour = points_per_hour
        self._budget_lock = threading.Lock()
        self._used: dict[str, tuple[int, int]] = {}  # credential digest -> (window start, points used)
        # node id -> (type, repository, record) of the deployments and pull requests (commits: on first need)
        self._nodes: dict[str, tuple[str, _Repo, dict]] = {}
        for repo in self.repos.values():
            self._nodes.update((d["node_id"], ("Deployment", repo, d)) for d in repo.data.deployments)
            self._nodes.update((p["node_id"], ("PullRequest", repo, p)) for p in repo.data.pulls)
        self._commits_indexed = False
        self._index_lock = threading.Lock()

    def answer(self, body: bytes, credential: str = "") -> tuple[dict[str, Any], dict[str, str]]:
        """The JSON answer to a POSTed request body, and the rate-limit headers GitHub sends with it."""
        try:
            document, plan = self._request(body)
            self._check(document, "Query", document.selections, plan, 1, [])
        except GraphqlError as e:
            return {"errors": [e.as_json()]}, {}
        except ValueError:
            return {"errors": [{"message": "Problems parsing JSON"}]}, {}
        cost = max(1, (plan.requests + 50) // 100)
        window, used, charged = self._charge(credential, cost)
        headers = {
            "x-ratelimit-limit": str(self.points_per_hour),
            "x-ratelimit-remaining": str(self.points_per_hour - used),
            "x-ratelimit-reset": str(window + 3600),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "graphql",
        }
        if not charged:
            message = f"API rate limit exceeded for {hashlib.sha256(credential.encode()).hexdigest()[:8]}."
            return {"errors": [{"type": "RATE_LIMITED", "message": message}]}, headers
        root = {
            "rateLimit": {
                "cost": cost,
                "limit": self.points_per_hour,
                "nodeCount": plan.nodes,
                "remaining": self.points_per_hour - used,
                "resetAt": gh_time(window + 3600),
                "used": used,
            }
        }
        errors: list[dict[str, Any]] = []
        try:
            data = self._select("Query", root, None, document.selections, document, plan, errors, [])
        except GraphqlError as e:
            return {"data": None, "errors": [e.as_json()]}, headers
        return ({"data": data, "errors": errors} if errors else {"data": data}), headers

    def _charge(self, credential: str, cost: int) -> tuple[int, int, bool]:
        """Charge `cost` points to the credential's hour: (window start, points used, whether it was charged)."""
        key = hashlib.sha256(credential.encode()).hexdigest()
        now = int(time.time())
        with self._budget_lock:
            window, used = self._used.get(key, (now, 0))
            if now >= window + 3600:
                window, used = now, 0
            if used + cost > self.points_per_hour:
                return window, used, False
            self._used[key] = (window, used + cost)
            return window, used + cost, True

    def _request(self, body: bytes) -> tuple[Document, _Plan]:
        """The document a POSTed body asks and its variables; a GraphqlError, or a ValueError for broken JSON."""
        request = json.loads(body or b"{}")
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            raise GraphqlError("A query attribute must be specified and must be a string.")
        variables = request.get("variables") or {}
        if not isinstance(variables, dict):
            raise GraphqlError("Variables must be an object.")
        document = parse(request["query"])
        return document, _Plan(self._variables(document, variables))

    @staticmethod
    def _variables(document: Document, given: dict[str, Any]) -> dict[str, Any]:
        values = {}
        for name, (kind, default) in document.variables.items():
            value = given.get(name, default)
            if value is None and kind.endswith("!"):
                raise GraphqlError(f"Variable ${name} of type {kind} was provided invalid value", "INVALID_VARIABLE")
            values[name] = value
        return values

    # The check: every field exists and every connection is paged within the limits, before anything runs.

    def _check(
        self, document: Document, kind: str, selections: list[Selection], plan: _Plan, per: int, path: list[Any]
    ) -> None:
        """Validate `selections` on type `kind`; count the connections they open `per` times each and their nodes."""
        for sel, on in self._fields(document, kind, selections):
            if sel.name == "__typename":
                continue
            spec = self.schema[on].get(sel.name) if on in self.schema else None
            if spec is None:
                raise GraphqlError(f"Field '{sel.name}' doesn't exist on type '{on}'", "undefinedField")
            args = {k: _resolve(v, plan.variables) for k, v in sel.args.items()}
            allowed = spec.args | ({"first", "after"} if spec.node else frozenset())
            if unknown := sorted(set(args) - allowed):
                raise GraphqlError(f"Field '{sel.name}' doesn't accept argument '{unknown[0]}'", "argumentNotAccepted")
            here = [*path, sel.alias]
            if spec.node:
                if args.get("after") is not None:
                    cursor_index(str(args["after"]))
                first = args.get("first")
                if first is None:
                    raise GraphqlError(
                        f"You must provide a `first` or `last` value to properly paginate the `{sel.name}` connection.",
                        "MISSING_PAGINATION_BOUNDARIES",
                        here,
                    )
                if not isinstance(first, int) or not 0 <= first <= MAX_FIRST:
                    raise GraphqlError(
                        f"Requesting {first} records on the `{sel.name}` connection exceeds the `first` limit of"
                        f" {MAX_FIRST} records.",
                        "EXCESSIVE_PAGINATION",
                        here,
                    )
                plan.requests += per
                plan.nodes += per * first
                if plan.nodes > MAX_NODES:
                    raise GraphqlError(
                        f"By the time this query traverses to the {sel.name} connection, it is requesting up to"
                        f" {plan.nodes:,} possible nodes which exceeds the maximum limit of {MAX_NODES:,}.",
                        "MAX_NODE_LIMIT_EXCEEDED",
                    )
                self._check_connection(document, spec.node, sel, plan, per * first, here)
            elif spec.object:
                if not sel.selections:
                    raise GraphqlError(f"Field '{sel.name}' of type '{spec.object}' must have a selection of subfields")
                self._check(document, spec.object, sel.selections, plan, per, here)
            elif sel.selections:
                raise GraphqlError(f"Selections can't be made on scalars (field '{sel.name}')")

    def _check_connection(
        self, document: Document, node: str, sel: Selection, plan: _Plan, per: int, path: list[Any]
    ) -> None:
        for part, on in self._fields(document, f"{node}Connection", sel.selections or []):
            if part.name == "__typename":
                continue
            if part.name not in self.connection:
                raise GraphqlError(f"Field '{part.name}' doesn't exist on type '{on}'", "undefinedField")
            child = self.connection[part.name] or (node if part.name == "nodes" else None)
            if child and not part.selections:
                raise GraphqlError(f"Field '{part.name}' must have a selection of subfields")
            if child:
                self._check(document, child, part.selections or [], plan, per, [*path, part.alias])

    def _fields(
        self, document: Document, kind: str, selections: list[Selection], concrete: str | None = None
    ) -> list[tuple[Selection, str]]:
        """The fields of `selections` on type `kind`, fragments spread; with `concrete` (a node's actual type),
        only the fragments on that type. Each field comes with the type it is selected on."""
        found: list[tuple[Selection, str]] = []
        for sel in selections:
            if sel.spread is not None:
                if sel.spread not in document.fragments:
                    raise GraphqlError(f"Fragment {sel.spread} was used, but not defined", "undefinedFragment")
                on, inner = document.fragments[sel.spread]
                found += self._fragment(document, kind, on, inner, concrete)
            elif sel.on is not None:
                found += self._fragment(document, kind, sel.on, sel.selections or [], concrete)
            else:
                found.append((sel, concrete or kind))
        return found

    def _flat(
        self, document: Document, kind: str, selections: list[Selection], concrete: str | None
    ) -> list[tuple[Selection, str]]:
        """`_fields`, worked out once per document rather than once per node of every answer."""
        key = (id(selections), kind, concrete)
        found = document.flat.get(key)
        if found is None:
            found = document.flat[key] = self._fields(document, kind, selections, concrete)
        return found

    def _fragment(
        self, document: Document, kind: str, on: str, selections: list[Selection], concrete: str | None
    ) -> list[tuple[Selection, str]]:
        if on != kind and on not in self.interfaces.get(kind, ()):
            raise GraphqlError(f"Fragment on {on} can't be spread inside {kind}", "fragmentSpreadImpossible")
        if concrete is not None and on != kind and on != concrete:
            return []
        return self._fields(document, on, selections, concrete if on == kind else None)

    # The run: each object's selected fields, read from its record.

    def _steps(
        self, document: Document, kind: str, selections: list[Selection], concrete: str | None
    ) -> list[tuple[str, int, Any, Selection]]:
        """`_fields` as (alias, how, what, selection), worked out once per document: a first sync's answers hold
        millions of fields, and most are a key of the record."""
        cache_key = (id(selections), kind, concrete)
        steps = document.steps.get(cache_key)
        if steps is None:
            steps = []
            for sel, on in self._fields(document, kind, selections, concrete):
                spec = None if sel.name == "__typename" else self.schema[on][sel.name]
                if spec is None:
                    steps.append((sel.alias, _TYPENAME, None, sel))
                elif kind == "Query" and sel.name in self.roots:
                    steps.append((sel.alias, _ROOT, spec, sel))
                elif spec.node:
                    steps.append((sel.alias, _CONNECTION, spec, sel))
                elif spec.object:
                    steps.append((sel.alias, _OBJECT, spec, sel))
                elif spec.key is not None:
                    steps.append((sel.alias, _KEY, spec.key, sel))
                else:
                    steps.append((sel.alias, _GET, spec.get or (lambda _: None), sel))
            document.steps[cache_key] = steps
        return steps

    def _select(
        self,
        kind: str,
        record: Any,
        repo: Any,  # the record's context: its _Repo here, what a subclass's `_root` passes on
        selections: list[Selection],
        document: Document,
        plan: _Plan,
        errors: list[dict[str, Any]],
        path: list[Any],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        concrete = None
        if kind in self.interfaces:
            concrete, repo, record = record
        for alias, how, what, sel in self._steps(document, kind, selections, concrete):
            if how is _KEY:
                out[alias] = record.get(what)
            elif how is _GET:
                out[alias] = what(record)
            elif how is _TYPENAME:
                out[alias] = (record.get("__typename") if kind == "Actor" else None) or concrete or kind
            elif how is _ROOT:
                out[alias] = self._root(sel, document, plan, errors, path)
            elif how is _CONNECTION:
                args = {k: _resolve(v, plan.variables) for k, v in sel.args.items()}
                out[alias] = self._connection(what, sel, record, repo, args, document, plan, errors, [*path, alias])
            else:
                if what.find is not None:
                    value = what.find(repo, record, {k: _resolve(v, plan.variables) for k, v in sel.args.items()})
                else:
                    value = what.get(record) if what.get else None
                out[alias] = (
                    None
                    if value is None
                    else self._select(what.object, value, repo, sel.selections or [], document, plan, errors, path)
                )
        return out

    def _root(
        self, sel: Selection, document: Document, plan: _Plan, errors: list[dict[str, Any]], path: list[Any]
    ) -> dict[str, Any] | None:
        """The answer to one of the `roots` fields of Query (a subclass answers its own)."""
        args = {k: _resolve(v, plan.variables) for k, v in sel.args.items()}
        here = [*path, sel.alias]
        if sel.name == "repository":
            found: Any = self.repos.get(f"{args.get('owner')}/{args.get('name')}")
            kind, repo, missing = (
                "Repository",
                found,
                f"a Repository with the name '{args.get('owner')}/{args.get('name')}'",
            )
        else:
            found = self._node(str(args.get("id")))
            kind, repo, missing = "Node", found and found[1], f"a node with the global id of '{args.get('id')}'"
        if found is None:
            errors.append(GraphqlError(f"Could not resolve to {missing}.", "NOT_FOUND", here).as_json())
            return None
        return self._select(kind, found, repo, sel.selections or [], document, plan, errors, here)

    def _node(self, node_id: str) -> tuple[str, _Repo, dict] | None:
        if node_id not in self._nodes and not self._commits_indexed:
            with self._index_lock:
                for repo in self.repos.values():
                    commits = [c for listed in repo.data.pull_commits.values() for c in listed] + repo.data.commits
                    self._nodes.update((c["node_id"], ("Commit", repo, c)) for c in commits)
                self._commits_indexed = True
        return self._nodes.get(node_id)

    def _connection(
        self,
        spec: _Field,
        sel: Selection,
        record: Any,
        repo: Any,
        args: dict[str, Any],
        document: Document,
        plan: _Plan,
        errors: list[dict[str, Any]],
        path: list[Any],
    ) -> dict[str, Any]:
        assert spec.items is not None and spec.node is not None and repo is not None
        items = spec.items(repo, record, args)
        start = 0 if args.get("after") is None else cursor_index(str(args["after"])) + 1
        first = args.get("first")
        page = items[start : start + (self.default_first if first is None else first)]
        out: dict[str, Any] = {}
        for part, _ in self._flat(document, f"{spec.node}Connection", sel.selections or [], None):
            if part.name == "__typename":
                out[part.alias] = f"{spec.node}Connection"
            elif part.name == "pageInfo":
                info = {
                    "hasNextPage": start + len(page) < len(items),
                    "hasPreviousPage": start > 0,
                    "startCursor": cursor_at(start) if page else None,
                    "endCursor": cursor_at(start + len(page) - 1) if page else None,
                }
                out[part.alias] = self._select(
                    "PageInfo", info, repo, part.selections or [], document, plan, errors, path
                )
            elif part.name == "nodes":
                selections = part.selections or []
                out[part.alias] = [
                    self._select(spec.node, item, repo, selections, document, plan, errors, path) for item in page
                ]
            else:  # the total, whatever `connection` names it (GitHub's totalCount, GitLab's count)
                out[part.alias] = spec.total(repo, record, items) if spec.total else len(items)
        return out


def _resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    """An argument's value with its variables filled in."""
    if isinstance(value, Var):
        if value.name not in variables:
            raise GraphqlError(f"Variable ${value.name} is used but not declared", "variableNotDefined")
        return variables[value.name]
    if isinstance(value, list):
        return [_resolve(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, variables) for k, v in value.items()}
    return value
