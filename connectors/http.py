"""The one HTTP client every connector uses: retries, rate limits, timeouts and JSON pages.

urllib3's `Retry` handles connection faults, 5xx and `Retry-After`, with exponential backoff and jitter; on top of
it this client waits out an exhausted quota until its reset (GitHub's `x-ratelimit-*`, GitLab's `RateLimit-*`:
urllib3 ignores those headers), and re-requests pages whose body broke off mid-way or is not valid JSON (both
happen after urllib3 has handed the response over, so its retries never see them). Every wait goes through one
injectable `sleep`. Errors name the URL but never a credential: credentials travel in headers, which are never
logged, and are only ever sent to the configured API's own host.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import takewhile
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import requests
import requests.auth
import requests.utils
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

log = logging.getLogger("connectors.http")


class ConnectorError(RuntimeError):
    """A source could not be read; the message names the URL and the problem, never a secret."""


def backoff_delay(factor: float, jitter: float, cap: float, attempt: int) -> float:
    """Wait before retry number `attempt` (1, 2, ...): factor * 2**(attempt-1) plus up to `jitter`, at most `cap`.

    The jitter spreads the retries of many clients (and of our own worker threads) so they do not hit a
    struggling source in lockstep.
    """
    return min(cap, factor * 2 ** (attempt - 1) + random.random() * jitter)


class _HeadersOnly(requests.auth.AuthBase):
    """No-op auth: the credentials are already in the session's headers."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class _Retry(Retry):
    """urllib3 Retry that honours `Retry-After` on 403, backs off from the first retry, and sleeps through `sleep_fn`.

    urllib3 re-creates the object on every retry through `new()`, so the injected sleep is carried over there.
    """

    # 403 is retried only when it carries Retry-After; without it, it is a real "forbidden".
    RETRY_AFTER_STATUS_CODES = frozenset({403, 413, 429, 503})

    def __init__(self, *args: Any, sleep_fn: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep_fn = sleep_fn

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.sleep_fn = self.sleep_fn
        return retry

    def get_backoff_time(self) -> float:
        # urllib3 retries the first failure at once, without jitter; a struggling source deserves a pause.
        errors = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        if errors == 0:
            return 0.0
        return backoff_delay(self.backoff_factor, self.backoff_jitter, self.backoff_max, errors)

    def sleep(self, response: Any = None) -> None:
        """Wait as the server asked (`Retry-After`), else back off exponentially with jitter."""
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after:
                self.sleep_fn(retry_after)
                return
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleep_fn(backoff)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _Retry:
        if response is not None and _is_primary_rate_limit(response.status, response.headers):
            # Retrying is pointless until the reset: hand the response over, and HttpClient waits for the reset.
            raise MaxRetryError(_pool, url or "", ResponseError("rate limit exhausted"))
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        origin = f"{_pool.scheme}://{_pool.host}" + (f":{_pool.port}" if _pool.port else "") if _pool else ""
        where = redact_url(origin + (url or ""))
        cause = f"answered {response.status}" if response is not None and response.status else type(error).__name__
        done = len(retry.history)
        budget = done + retry.total if isinstance(retry.total, int) else done
        log.warning("%s %s %s; retry %d of %d", method or "GET", where, cause, done, budget)
        return retry


# An exhausted quota and when it resets: GitHub's `x-ratelimit-*`, GitLab's `RateLimit-*` (both send the reset as
# Unix time; GitLab's headers are often missing on a 429, which then backs off like any other).
_QUOTA_HEADERS = (("x-ratelimit-remaining", "x-ratelimit-reset"), ("RateLimit-Remaining", "RateLimit-Reset"))
_UNIX_TIME_FLOOR = 10**9  # smaller reset values are seconds from now (the IETF draft's form), not Unix times


def _quota_reset(headers: Mapping[str, str]) -> float | None:
    """The Unix time at which an exhausted quota resets, when the headers say the quota is exhausted."""
    for remaining, reset in _QUOTA_HEADERS:
        value = (headers.get(reset) or "").strip()
        if headers.get(remaining) == "0" and value.isdigit():
            return int(value) if int(value) >= _UNIX_TIME_FLOOR else time.time() + int(value)
    return None


def _is_primary_rate_limit(status: int, headers: Mapping[str, str]) -> bool:
    """An exhausted quota (GitHub primary rate limit, GitLab `RateLimit-*`): 403/429, remaining 0, a reset time
    and no `Retry-After`."""
    return status in (403, 429) and _quota_reset(headers) is not None and not headers.get("Retry-After")


@dataclass(frozen=True)
class HttpSettings:
    """How patient to be with a source."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 6
    backoff_factor: float = 0.5  # 0.5, 1, 2, 4 ... seconds, with jitter
    backoff_max: float = 60.0
    max_rate_limit_wait: float = 900.0  # longest wait for a rate-limit reset before failing
    invalid_json_retries: int = 3


def redact_url(url: str) -> str:
    """Drop user info and the query string, which are the only places a URL could carry a secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class HttpClient:
    """A requests Session per thread with retries; `get_json` returns (body, response).

    `sleep` is every wait the client makes (backoff, `Retry-After`, rate-limit resets); tests replace it to
    record the waits instead of sleeping through them.
    """

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        settings: HttpSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings or HttpSettings()
        self._headers = dict(headers or {})
        self._auth = auth
        self.sleep = sleep
        self._local = threading.local()
        self.requests_made = 0
        self._count_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            s = self.settings
            retry = _Retry(
                total=s.retries,
                connect=s.retries,
                read=s.retries,
                status=s.retries,
                backoff_factor=s.backoff_factor,
                backoff_max=s.backoff_max,
                backoff_jitter=s.backoff_factor,
                retry_after_max=max(1, int(s.max_rate_limit_wait)),
                status_forcelist=(429, 500, 502, 503, 504),
                # POST only ever carries read-only queries (GitHub's, GitLab's GraphQL): as safe to retry as a GET.
                allowed_methods=frozenset({"GET", "POST"}),
                respect_retry_after_header=True,
                raise_on_status=False,
                sleep_fn=lambda seconds: self.sleep(seconds),  # late-bound: `sleep` may be replaced after start
            )
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"Accept": "application/json", "User-Agent": "opmetrics", **self._headers})
            # An explicit auth object also stops requests from reading ~/.netrc on every request, which cost
            # a fifth of a first sync's time; credentials given in headers are unaffected.
            session.auth = self._auth or _HeadersOnly()
            # requests reads the proxy variables and the CA bundle from the environment on every request (walking
            # all of it: a sixth of a GitLab sync's CPU here). A client talks to one origin, so they are read once.
            session.trust_env = False
            session.proxies = requests.utils.get_environ_proxies(self.base_url)
            session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            # The session's headers and auth applied once; each request copies this (`_prepare`). Built before the
            # session is kept: a header it refuses (a token ending in a newline) fails every request alike.
            self._local.template = session.prepare_request(requests.Request("GET", self.base_url))
            self._local.session = session
        return session

    def _prepare(
        self, method: str, url: str, params: Mapping[str, Any] | None, data: bytes | None
    ) -> requests.PreparedRequest:
        """The request to send: a copy of this thread's template with its method, URL and body.

        `Session.request` merges the session's settings, validates every header and builds a cookie header on each
        call: a third of the client's CPU per request on loopback (0.38 ms a request this way, 0.55 through
        `Session.request`). An API client sends the same headers every time, so they are prepared once. No cookies
        are sent: none of the APIs reads one.
        """
        self._session()
        prepared = self._local.template.copy()
        prepared.method = method
        prepared.prepare_url(url, params)
        if data is not None:
            prepared.headers["Content-Type"] = "application/json"
            prepared.prepare_body(data, None)
        return prepared

    def url(self, path_or_url: str) -> str:
        """Absolute URL for a path relative to the base URL; absolute URLs (Link headers, `paging.next`) pass
        through only when they point at the API's own scheme, host and port, because the session sends the
        credentials with every request."""
        if path_or_url.startswith(("http://", "https://")):
            if _origin(path_or_url) != _origin(self.base_url):
                raise ConnectorError(
                    f"refusing to follow {redact_url(path_or_url)}: not on the API's host ({redact_url(self.base_url)})"
                )
            return path_or_url
        if not path_or_url:
            return self.base_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> tuple[Any, requests.Response]:
        """GET a JSON document, waiting out rate limits and retrying transient faults."""
        return self._json("GET", path_or_url, params=params)

    def post_json(self, path_or_url: str, body: Mapping[str, Any]) -> tuple[Any, requests.Response]:
        """POST a JSON body (a read-only query, e.g. GraphQL) and read a JSON document, as patiently as `get_json`."""
        return self._json("POST", path_or_url, body=body)

    def _json(
        self, method: str, path_or_url: str, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> tuple[Any, requests.Response]:
        url = self.url(path_or_url)
        s = self.settings
        data = None if body is None else orjson.dumps(body)
        bad_json = broken = rate_limited = 0
        while True:
            try:
                response = self._session().send(
                    self._prepare(method, url, params, data), timeout=(s.connect_timeout, s.read_timeout)
                )
            except requests.RequestException as exc:
                if not _body_broke(exc):
                    raise ConnectorError(f"{method} {redact_url(url)} failed: {type(exc).__name__}") from None
                # The headers arrived, then the connection dropped or stalled mid-body: urllib3 had already
                # handed the response over, so its retries do not cover this. Ask for the page again.
                broken += 1
                if broken > s.retries:
                    raise ConnectorError(
                        f"{method} {redact_url(url)} failed: the connection broke mid-body {broken} times"
                        f" ({type(exc).__name__})"
                    ) from None
                self._pause(url, broken, f"connection broke mid-body ({type(exc).__name__})")
                continue
            with self._count_lock:  # several threads share a client (children, partitions read ahead)
                self.requests_made += 1
            wait = self._rate_limit_wait(response)
            if wait is not None:
                rate_limited += 1
                if wait > s.max_rate_limit_wait:
                    raise ConnectorError(
                        f"{method} {redact_url(url)}: rate limit resets in {wait:.0f}s, longer than the"
                        f" configured maximum wait of {s.max_rate_limit_wait:.0f}s"
                    )
                if rate_limited > s.retries:  # a reset that never comes (a misbehaving proxy): do not loop forever
                    raise ConnectorError(f"{method} {redact_url(url)}: still rate limited after {s.retries} resets")
                log.warning("rate limit reached at %s; waiting %.0fs for the reset", redact_url(url), wait)
                self.sleep(wait)
                continue
            if response.status_code >= 400:
                raise ConnectorError(
                    f"{method} {redact_url(url)} answered {response.status_code}: {_error_summary(response)}"
                )
            try:
                # orjson: several times faster than the stdlib on the large pages a first sync reads.
                return orjson.loads(response.content), response
            except ValueError:
                bad_json += 1
                if bad_json > s.invalid_json_retries:
                    raise ConnectorError(
                        f"{method} {redact_url(url)} returned a body that is not valid JSON ({bad_json} attempts)"
                    ) from None
                self._pause(url, bad_json, "invalid JSON")

    def _pause(self, url: str, attempt: int, why: str) -> None:
        s = self.settings
        delay = backoff_delay(s.backoff_factor, s.backoff_factor, s.backoff_max, attempt)
        log.warning("%s from %s; retrying in %.1fs", why, redact_url(url), delay)
        self.sleep(delay)

    @staticmethod
    def _rate_limit_wait(response: requests.Response) -> float | None:
        """Seconds until an exhausted quota resets (GitHub, GitLab), when this response says it is exhausted."""
        if response.status_code not in (403, 429):
            return None
        reset = _quota_reset(response.headers)
        if reset is None:
            return None
        return max(0.0, reset - time.time()) + 1.0


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _body_broke(exc: requests.RequestException) -> bool:
    """Whether the response's headers arrived and its body then broke off (reset, truncated, or stalled)."""
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return True
    # requests reports a read timeout while reading the body as a ConnectionError wrapping ReadTimeoutError;
    # a timeout before the headers is retried by urllib3 and surfaces wrapped in MaxRetryError instead.
    return isinstance(exc, requests.ConnectionError) and bool(exc.args) and isinstance(exc.args[0], ReadTimeoutError)


def _error_summary(response: requests.Response) -> str:
    """A short, secret-free description of an error body (sources echo messages, not credentials)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "error"
    if isinstance(body, dict):
        for key in ("message", "error", "errorMessages", "errors"):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300]
