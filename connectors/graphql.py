"""What the connectors that read a GraphQL API share: the client and the settings that choose the API.

GitHub's and GitLab's GraphQL APIs each read a page of parents with their children (deployments with their
statuses, merge requests with their commits) in one query, where REST needs a request per parent. Both answer
errors with HTTP 200 in `errors`, page connections by opaque cursors (`pageInfo { hasNextPage endCursor }`) and
take at most 100 nodes a connection. The queries, and how their nodes become the REST payloads that land, live
beside each connector (`connectors/github_graphql.py`, `connectors/gitlab.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import requests
from pydantic import field_validator, model_validator

from connectors.base import SourceSettings, dig
from connectors.http import ConnectorError, HttpClient, backoff_delay, redact_url
from connectors.timeparse import parse_timestamp


class GraphqlSettings(SourceSettings):
    """`api`: read with the source's GraphQL API (`graphql`, the default) or only with REST (`rest`);
    `graphql_url` overrides the GraphQL endpoint the connector derives from `api_url`."""

    api: Literal["graphql", "rest"] = "graphql"
    graphql_url: str | None = None

    @field_validator("graphql_url")
    @classmethod
    def _graphql_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"graphql_url must start with http:// or https://, got {value!r}")
        if urlsplit(value).username is not None:  # it lands in the catalog's settings as written
            raise ValueError("graphql_url must not carry credentials: the token comes from `token`")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _same_host(self) -> Self:
        # The token travels with every query: it must not go anywhere api_url does not.
        if self.graphql_url and urlsplit(self.graphql_url)[:2] != urlsplit(self.api_url)[:2]:
            raise ValueError(f"graphql_url must be on api_url's scheme, host and port ({self.api_url})")
        return self


class GraphqlClient:
    """Queries a GraphQL API through the connector's `HttpClient` (its retries, timeouts and `sleep`), minding the
    points budget each answer reports when it reports one (GitHub's `rateLimit`; GitLab's GraphQL shares the REST
    requests' limit, which `HttpClient` already minds). `api` names the API in logs and errors ("GitLab GraphQL")."""

    def __init__(self, http: HttpClient, url: str, log: logging.Logger, api: str) -> None:
        self.http = http
        self.url = url
        self.log = log
        self.api = api
        self.queries: Counter[str] = Counter()  # answered queries per operation
        self.points: Counter[str] = Counter()  # points charged per operation (`rateLimit.cost`)
        self._costs: dict[str, int] = {}  # each operation's last cost: what its next query will likely cost
        self._remaining: int | None = None
        self._reset_at: float | None = None  # Unix time
        self._lock = threading.Lock()  # follow-up queries run in the connector's worker threads

    def query(self, operation: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The `data` of one query, once it has no errors; RATE_LIMITED is waited out and asked again."""
        settings = self.http.settings
        for _ in range(settings.retries + 1):
            self._wait_for_budget(operation)
            body, response = self.http.post_json(self.url, {"query": query, "variables": dict(variables)})
            if not isinstance(body, dict):
                raise ConnectorError(f"{self.api} {operation} at {redact_url(self.url)}: the answer is not an object")
            data = body.get("data")
            if isinstance(data, dict):
                self._charge(operation, data.get("rateLimit"))
            errors = body.get("errors")
            if not errors:
                if not isinstance(data, dict):
                    raise ConnectorError(f"{self.api} {operation} at {redact_url(self.url)}: no data, no errors")
                return data
            if not all(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors):
                # Partial data with errors is not landed: a page missing some of its nodes would look complete.
                shown = "; ".join(_describe(e) for e in errors[:3])
                raise ConnectorError(f"{self.api} {operation} at {redact_url(self.url)} failed: {shown}")
            self._wait(operation, self._reset_wait(response), "rate limited (RATE_LIMITED)")
        raise ConnectorError(
            f"{self.api} {operation} at {redact_url(self.url)}: still rate limited after {settings.retries} waits"
        )

    def pages(
        self,
        operation: str,
        query: str,
        variables: Mapping[str, Any],
        path: str,
        first_page: Mapping[str, Any] | None = None,
        later: Mapping[str, Any] | None = None,
    ) -> Iterator[Mapping[str, Any]]:
        """Every page of the connection at dotted `path` of the answer (`repository.deployments`), following
        `pageInfo`. `first_page`: a page already read nested in another query, whose further pages this reads.
        `later`: variables that change after the first query (a larger `first`: a cursor allows any page size)."""
        page = first_page
        after: str | None = None
        seen: set[str] = set()
        while True:
            if page is None:
                asked = {**variables, **(later or {})} if after else variables
                page = dig(self.query(operation, query, {**asked, "after": after}), path)
                if not isinstance(page, Mapping):
                    raise ConnectorError(f"{self.api} {operation}: the answer has no {path}")
            yield page
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")
            if not after or after in seen:
                raise ConnectorError(f"{self.api} {operation}: {path} pages loop or end without a cursor")
            seen.add(after)
            page = None

    def summary(self) -> str:
        """Queries so far per operation, and the points they cost when the API charges points (GitHub)."""
        if not self.points:
            per_operation = ", ".join(f"{op} {n}" for op, n in sorted(self.queries.items()))
            return f"{sum(self.queries.values())} queries: {per_operation or '-'}"
        per_operation = ", ".join(f"{op} {n} ({self.points[op]} points)" for op, n in sorted(self.queries.items()))
        return f"{sum(self.queries.values())} queries, {sum(self.points.values())} points: {per_operation or '-'}"

    def _charge(self, operation: str, rate_limit: Any) -> None:
        """Count an answered query, and what it cost when the answer says (GitHub's `rateLimit`; GitLab's has none)."""
        with self._lock:
            self.queries[operation] += 1
        if not isinstance(rate_limit, dict):
            return
        cost, remaining = rate_limit.get("cost"), rate_limit.get("remaining")
        try:
            reset_at = parse_timestamp(rate_limit.get("resetAt"))
        except ValueError:
            reset_at = None
        with self._lock:
            if isinstance(cost, int):
                self.points[operation] += cost
                self._costs[operation] = cost
            if isinstance(remaining, int):
                self._remaining = remaining
            if reset_at is not None:
                self._reset_at = reset_at.timestamp()
        self.log.debug("%s %s: cost %s, %s points left", self.api, operation, cost, remaining)

    def _wait_for_budget(self, operation: str) -> None:
        """Wait for the reset when the points left would not cover this query (as much as its last one cost)."""
        with self._lock:
            remaining, reset_at, cost = self._remaining, self._reset_at, self._costs.get(operation, 1)
        if remaining is None or reset_at is None or remaining >= cost:
            return
        self._wait(operation, max(0.0, reset_at - time.time()) + 1.0, f"{remaining} points left, it costs {cost}")
        with self._lock:
            if self._reset_at == reset_at:
                self._remaining = None  # a fresh budget: the next answer says how much of it is left

    def _reset_wait(self, response: requests.Response) -> float:
        """Seconds until the budget resets: the answer's `x-ratelimit-reset`, else the last `resetAt`, else a
        backoff."""
        header = (response.headers.get("x-ratelimit-reset") or "").strip()
        with self._lock:
            reset_at = float(header) if header.isdigit() else self._reset_at
        if reset_at is not None:
            return max(0.0, reset_at - time.time()) + 1.0
        s = self.http.settings
        return backoff_delay(s.backoff_factor, s.backoff_factor, s.backoff_max, 1)

    def _wait(self, operation: str, seconds: float, why: str) -> None:
        limit = self.http.settings.max_rate_limit_wait
        if seconds > limit:
            raise ConnectorError(
                f"{self.api} {operation}: {why}; the budget resets in {seconds:.0f}s, longer than the configured"
                f" maximum wait of {limit:.0f}s"
            )
        self.log.warning("%s %s: %s; waiting %.0fs for the budget's reset", self.api, operation, why, seconds)
        self.http.sleep(seconds)


def _describe(error: Any) -> str:
    """One GraphQL error as `TYPE: message` (GitHub's and GitLab's messages name the query's parts, never a
    credential)."""
    if not isinstance(error, dict):
        return str(error)[:200]
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return f"{error.get('type') or code or 'ERROR'}: {error.get('message')}"[:300]
