"""GitLab's GraphQL API (`POST /api/graphql`) for merge requests' commits, over projects held in their REST shapes.

The part of GitLab's schema opmetrics queries, under GitLab's own names: `project(fullPath:)` (null, without an
error, for a project that is not there), its `mergeRequests(iids:, first:, after:)` (newest created first, GitLab's
default `created_desc`) and `mergeRequest(iid:)`, a merge request's `iid` (a String, as GitLab types it), `title`
and `commits` (in the REST endpoint's order, newest first), and a commit's REST fields under their GraphQL names.
Connections have `pageInfo`, `nodes` and `count`. The reader and the run are `sample_org.github_graphql`'s, so
queries may use variables, aliases, named and inline fragments and `__typename`; anything else is refused.

As GitLab does, it answers with HTTP 200 for every query error, in GitLab's error shape (`message`, `locations`,
`path`, `extensions.code` for a validation error: no `type`), returns at most 100 nodes a connection (100 when
`first` is not given; more is refused) and refuses a query whose complexity is above 250 (200 without a
credential). Complexity, as GitLab counts it: every selected field 1, and a connection field that is not asked for
by specific ids (`iids`) 1% more per node it may load, so at most twice as much (`first` 100, or no `first`).
There is no `rateLimit` field: GitLab counts a GraphQL request against the same per-minute limit as a REST one,
which the server's `RateLimit-*` headers report.

Times are GitLab's Time scalar, Ruby's `Time#iso8601`: the REST value in the committer's (or author's) zone,
without REST's milliseconds. Everything is looked up in indexes built once, when the API starts (per project: its
merge requests by iid and in `created_desc` order), never scanned per query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sample_org.generator import GitLabProject
from sample_org.github_graphql import SCHEMA as GITHUB_SCHEMA
from sample_org.github_graphql import (
    Document,
    GraphqlApi,
    GraphqlError,
    Selection,
    Var,
    _Field,
    _key,
    _Plan,
    _resolve,
    cursor_index,
)

MAX_PAGE_SIZE = 100  # GitLab's default_max_page_size, also the page a connection returns without `first`
MAX_COMPLEXITY = 250  # GitLab's limit for an authenticated request
MAX_COMPLEXITY_UNAUTHENTICATED = 200
# The arguments GitLab's schema gives the fields served here, with their types; `!` marks a required one.
ARGUMENTS = {"fullPath": "ID!", "iids": "[String!]", "iid": "String!", "first": "Int", "after": "String"}
BY_IDS = ("iid", "iids")  # a connection asked for by these costs no more per node (GitLab's complexity_multiplier)
# graphql-ruby's codes for a static validation error, the errors GitLab gives `extensions.code`.
_VALIDATION_CODES = frozenset(
    {"undefinedField", "argumentNotAccepted", "undefinedFragment", "fragmentSpreadImpossible", "variableNotDefined"}
)
_FRACTION = re.compile(r"\.\d+(?=Z$|[+-]\d\d:\d\d$)")


def gl_time(rest_time: str | None) -> str | None:
    """A REST time (`2012-09-20T11:50:22.000+03:00`) as GitLab's Time scalar gives it (`2012-09-20T11:50:22+03:00`)."""
    return _FRACTION.sub("", rest_time) if rest_time else rest_time


class GitlabGraphqlError(GraphqlError):
    """A query error in GitLab's shape: `{"message", "locations", "path", "extensions": {"code"}}`, no `type`."""

    def __init__(
        self,
        message: str,
        code: str | None = None,
        path: list[Any] | None = None,
        locations: list[dict[str, int]] | None = None,
    ) -> None:
        super().__init__(message, code, path)
        self.locations = locations

    def as_json(self) -> dict[str, Any]:
        """The error as GitLab lists it in `errors`."""
        error: dict[str, Any] = {"message": self.message}
        if self.locations:
            error["locations"] = self.locations
        if self.path:
            error["path"] = self.path
        if self.kind:
            error["extensions"] = {"code": self.kind}
        return error


def _as_gitlab(error: GraphqlError) -> dict[str, Any]:
    """Any error of the shared reader or run in GitLab's shape: GitHub's `type`s have no place in it."""
    if isinstance(error, GitlabGraphqlError):
        return error.as_json()
    code = error.kind if error.kind in _VALIDATION_CODES else None
    return GitlabGraphqlError(error.message, code, error.path).as_json()


def _locations(document: Document, sel: Selection) -> list[dict[str, int]] | None:
    """Where `sel` starts in the document, as GraphQL errors give it (1-based line and column)."""
    if sel.at < 0:
        return None
    line_start = document.text.rfind("\n", 0, sel.at) + 1
    return [{"line": document.text.count("\n", 0, sel.at) + 1, "column": sel.at - line_start + 1}]


def _coerce(value: Any, kind: str) -> tuple[bool, Any]:
    """GraphQL's input coercion of an argument's value to `kind` ("[String!]", "Int", ...): (valid, value)."""
    if value is None:
        return not kind.endswith("!"), None
    kind = kind.removesuffix("!")
    if kind.startswith("["):
        inner = kind[1:-1]
        items = [_coerce(v, inner) for v in (value if isinstance(value, list) else [value])]  # a lone value: a list
        return all(ok for ok, _ in items), [v for _, v in items]
    if isinstance(value, bool):
        return kind == "Boolean", value
    if kind == "Int":
        return isinstance(value, int) and -(2**31) <= value < 2**31, value
    if kind == "ID":
        return isinstance(value, str | int), str(value)
    return kind == "String" and isinstance(value, str), value


def _show(value: Any) -> str:
    """An argument's value as an error message quotes it (an enum by its name)."""
    return json.dumps(value, default=lambda v: getattr(v, "name", str(v)))


# --- the schema subset, resolved straight from the REST records -------------------------------------------------


@dataclass(frozen=True)
class _Project:
    """One project's merge requests in the orders and lookups GraphQL needs, built once when the API starts."""

    path: str
    data: GitLabProject
    newest_first: list[dict]  # created_desc: created_at descending, ties by iid descending
    by_iid: dict[str, dict]  # by the iid as GraphQL types it, a String
    rank: dict[int, int]  # iid -> its place in newest_first

    @classmethod
    def of(cls, project: GitLabProject) -> _Project:
        """The index of `project`."""
        # Every created_at has the same fixed-width UTC format, so string order is time order.
        newest = sorted(project.merge_requests, key=lambda mr: (mr["created_at"], mr["iid"]), reverse=True)
        return cls(
            project.path,
            project,
            newest,
            {str(mr["iid"]): mr for mr in project.merge_requests},
            {mr["iid"]: i for i, mr in enumerate(newest)},
        )

    def merge_requests(self, iids: list[str] | None) -> list[dict]:
        """The merge requests `iids` names (all of them without iids), in created_desc order."""
        if not iids:  # GitLab's finder filters by iids only when some are given
            return self.newest_first
        found = {mr["iid"]: mr for iid in iids if (mr := self.by_iid.get(iid)) is not None}
        return sorted(found.values(), key=lambda mr: self.rank[mr["iid"]])


def _merge_request_items(project: _Project, _: Any, args: dict[str, Any]) -> list[dict]:
    iids = args.get("iids")
    return project.merge_requests([iids] if isinstance(iids, str) else iids)


def _merge_request(project: _Project, _: Any, args: dict[str, Any]) -> dict | None:
    return project.by_iid.get(str(args.get("iid")))


def _commit_items(project: _Project, mr: dict, _: dict[str, Any]) -> list[dict]:
    return project.data.merge_request_commits.get(mr["iid"], [])  # newest first, as REST lists them


def _time(name: str) -> _Field:
    return _Field(get=lambda record: gl_time(record.get(name)))


SCHEMA: dict[str, dict[str, _Field]] = {
    "Query": {"project": _Field(object="Project", args=frozenset({"fullPath"}))},
    "Project": {
        "fullPath": _Field(get=lambda p: p.path),
        "mergeRequests": _Field(node="MergeRequest", items=_merge_request_items, args=frozenset({"iids"})),
        "mergeRequest": _Field(object="MergeRequest", find=_merge_request, args=frozenset({"iid"})),
    },
    "MergeRequest": {
        "iid": _Field(get=lambda mr: str(mr["iid"])),
        "title": _key("title"),
        "commits": _Field(node="Commit", items=_commit_items),
    },
    "Commit": {
        "sha": _key("id"),
        "shortId": _key("short_id"),
        "title": _key("title"),
        "message": _key("message"),
        "authorName": _key("author_name"),
        "authorEmail": _key("author_email"),
        "authoredDate": _time("authored_date"),
        "committerName": _key("committer_name"),
        "committerEmail": _key("committer_email"),
        "committedDate": _time("committed_date"),
        "webUrl": _key("web_url"),
    },
    "PageInfo": GITHUB_SCHEMA["PageInfo"],
}
CONNECTION: dict[str, str | None] = {"pageInfo": "PageInfo", "nodes": None, "count": None}


# --- answering ---------------------------------------------------------------------------------------------------


class GitlabGraphqlApi(GraphqlApi):
    """Answers GitLab GraphQL queries over `projects` (by full path, "acme/checkout"), within GitLab's limits."""

    schema: ClassVar[dict[str, dict[str, _Field]]] = SCHEMA
    interfaces: ClassVar[dict[str, tuple[str, ...]]] = {}
    connection: ClassVar[dict[str, str | None]] = CONNECTION
    roots: ClassVar[frozenset[str]] = frozenset({"project"})
    default_first: ClassVar[int | None] = MAX_PAGE_SIZE

    def __init__(self, projects: Mapping[str, GitLabProject], max_complexity: int = MAX_COMPLEXITY) -> None:
        super().__init__({})  # the base's GitHub state (repositories, points budget) stays empty and unused
        self.projects = {path: _Project.of(project) for path, project in projects.items()}
        self.max_complexity = max_complexity

    def answer(self, body: bytes, credential: str = "") -> tuple[dict[str, Any], dict[str, str]]:
        """The JSON answer to a POSTed request body, and no headers of its own: GitLab's `RateLimit-*` headers are
        the server's, as for REST. `credential` only tells an authenticated request (a higher complexity limit)."""
        try:
            document, plan = self._request(body)
            complexity = self._complexity(document, "Query", document.selections, plan, [])
        except GraphqlError as e:
            return {"errors": [_as_gitlab(e)]}, {}
        except ValueError:
            return {"errors": [{"message": "Problems parsing JSON"}]}, {}
        limit = self.max_complexity if credential else min(self.max_complexity, MAX_COMPLEXITY_UNAUTHENTICATED)
        if complexity > limit:
            message = f"Query has complexity of {complexity}, which exceeds max complexity of {limit}"
            return {"errors": [{"message": message}]}, {}
        errors: list[dict[str, Any]] = []
        try:
            data = self._select("Query", {}, None, document.selections, document, plan, errors, [])
        except GraphqlError as e:
            return {"data": None, "errors": [_as_gitlab(e)]}, {}
        return ({"data": data, "errors": errors} if errors else {"data": data}), {}

    def complexity(self, query: str, variables: Mapping[str, Any] | None = None) -> int:
        """The complexity GitLab would compute for `query` with `variables` (a GraphqlError if it is invalid)."""
        document, plan = self._request(json.dumps({"query": query, "variables": dict(variables or {})}).encode())
        return self._complexity(document, "Query", document.selections, plan, [])

    # The check: every field exists, every argument is of its type, every connection within the page size, and
    # what it all costs, before anything runs.

    def _complexity(
        self, document: Document, kind: str, selections: list[Selection], plan: _Plan, path: list[Any]
    ) -> int:
        """Validate `selections` on type `kind` and return their complexity."""
        total = 0
        for sel, on in self._fields(document, kind, selections):
            here = [*path, sel.alias]
            if sel.name == "__typename":
                total += 1
                continue
            spec = self.schema.get(on, {}).get(sel.name)
            if spec is None:
                message = f"Field '{sel.name}' doesn't exist on type '{on}'"
                raise self._error(document, sel, here, message, "undefinedField")
            args = self._arguments(document, sel, spec, plan, here)
            if spec.node:
                cost = 1 + self._connection_complexity(document, spec.node, sel, plan, here)
                if all(args.get(name) is None for name in BY_IDS):
                    cost += cost * args["first"] // MAX_PAGE_SIZE  # 1% more per node it may load: at most twice
            elif spec.object:
                if not sel.selections:
                    message = (
                        f"Field must have selections (field '{sel.name}' returns {spec.object} but has no"
                        f" selections. Did you mean '{sel.name} {{ ... }}'?)"
                    )
                    raise self._error(document, sel, here, message, "selectionMismatch")
                cost = 1 + self._complexity(document, spec.object, sel.selections, plan, here)
            elif sel.selections:
                message = f"Selections can't be made on scalars (field '{sel.name}' returns a scalar)"
                raise self._error(document, sel, here, message, "selectionMismatch")
            else:
                cost = 1
            total += cost
        return total

    def _connection_complexity(
        self, document: Document, node: str, sel: Selection, plan: _Plan, path: list[Any]
    ) -> int:
        total = 0
        kind = f"{node}Connection"
        for part, on in self._fields(document, kind, sel.selections or []):
            here = [*path, part.alias]
            if part.name == "__typename":
                total += 1
                continue
            if part.name not in self.connection:
                message = f"Field '{part.name}' doesn't exist on type '{on}'"
                raise self._error(document, part, here, message, "undefinedField")
            if part.args:
                message = f"Field '{part.name}' doesn't accept argument '{next(iter(part.args))}'"
                raise self._error(document, part, here, message, "argumentNotAccepted")
            child = self.connection[part.name] or (node if part.name == "nodes" else None)
            if child and not part.selections:
                message = f"Field must have selections (field '{part.name}' returns {child} but has no selections)"
                raise self._error(document, part, here, message, "selectionMismatch")
            if not child and part.selections:
                message = f"Selections can't be made on scalars (field '{part.name}' returns a scalar)"
                raise self._error(document, part, here, message, "selectionMismatch")
            total += 1 + (self._complexity(document, child, part.selections or [], plan, here) if child else 0)
        return total

    def _arguments(
        self, document: Document, sel: Selection, spec: _Field, plan: _Plan, path: list[Any]
    ) -> dict[str, Any]:
        """The field's arguments, coerced to their types; a connection's `first` filled in and within the limit."""
        allowed = spec.args | ({"first", "after"} if spec.node else frozenset())
        given = {k: _resolve(v, plan.variables) for k, v in sel.args.items()}
        if unknown := sorted(set(given) - allowed):
            message = f"Field '{sel.name}' doesn't accept argument '{unknown[0]}'"
            raise self._error(document, sel, path, message, "argumentNotAccepted")
        if missing := sorted(a for a in allowed if ARGUMENTS[a].endswith("!") and given.get(a) is None):
            message = f"Field '{sel.name}' is missing required arguments: {', '.join(missing)}"
            raise self._error(document, sel, path, message, "missingRequiredArguments")
        for name, raw in sel.args.items():
            # As graphql-ruby validates a document: a variable's declared type must fit the argument's (a non-null
            # type fits its nullable one), whatever value it is given.
            declared = document.variables[raw.name][0] if isinstance(raw, Var) else None
            if declared is not None and declared not in (ARGUMENTS[name], ARGUMENTS[name] + "!"):
                message = f"Type mismatch on variable ${raw.name} and argument {name} ({declared} / {ARGUMENTS[name]})"
                raise self._error(document, sel, path, message, "variableMismatch")
        args = {}
        for name, value in given.items():
            ok, args[name] = _coerce(value, ARGUMENTS[name])
            if not ok:
                message = (
                    f"Argument '{name}' on Field '{sel.name}' has an invalid value ({_show(value)})."
                    f" Expected type '{ARGUMENTS[name]}'."
                )
                raise self._error(document, sel, path, message, "argumentLiteralsIncompatible")
        if spec.node:
            first = args.get("first")
            args["first"] = MAX_PAGE_SIZE if first is None else first
            if not 0 <= args["first"] <= MAX_PAGE_SIZE:
                message = (
                    f"Argument 'first' on Field '{sel.name}' has an invalid value ({first}): a page has"
                    f" from 0 to {MAX_PAGE_SIZE} records (GitLab's maximum page size is {MAX_PAGE_SIZE})."
                )
                raise self._error(document, sel, path, message)
            if args.get("after") is not None:
                try:
                    cursor_index(args["after"])
                except GraphqlError:
                    raise self._error(document, sel, path, "Please provide a valid cursor") from None
        return args

    @staticmethod
    def _error(
        document: Document, sel: Selection, path: list[Any], message: str, code: str | None = None
    ) -> GitlabGraphqlError:
        """An error about `sel` (at `path`), located in the document."""
        return GitlabGraphqlError(message, code, path, _locations(document, sel))

    # The run: the base's, from this schema's roots.

    def _root(
        self, sel: Selection, document: Document, plan: _Plan, errors: list[dict[str, Any]], path: list[Any]
    ) -> dict[str, Any] | None:
        """`project(fullPath:)`: null, without an error, for a project that is not there (as GitLab answers)."""
        project = self.projects.get(str(_resolve(sel.args.get("fullPath"), plan.variables)))
        if project is None:
            return None
        here = [*path, sel.alias]
        return self._select("Project", project, project, sel.selections or [], document, plan, errors, here)
