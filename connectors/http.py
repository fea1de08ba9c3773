"""The one HTTP client every connector uses: retries, rate limits, timeouts and JSON pages.

urllib3's `Retry` handles connection faults, 5xx and `Retry-After`; on top of it this client waits out GitHub's
`x-ratelimit-remaining: 0` until `x-ratelimit-reset` (urllib3 ignores those headers) and retries pages that are
not valid JSON. Errors name the URL but never a credential: credentials travel in headers, which are never logged.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger("connectors.http")


class ConnectorError(RuntimeError):
    """A source could not be read; the message names the URL and the problem, never a secret."""


class _Retry(Retry):
    """urllib3 Retry that also honours `Retry-After` on 403 (GitHub's secondary rate limit)."""

    # 403 is retried only when it carries Retry-After; without it, it is a real "forbidden".
    RETRY_AFTER_STATUS_CODES = frozenset({403, 413, 429, 503})


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
    """A requests Session per thread with retries; `get_json` returns (body, response)."""

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
        self._sleep = sleep
        self._local = threading.local()
        self.requests_made = 0

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
                status_forcelist=(429, 500, 502, 503, 504),
                allowed_methods=frozenset({"GET"}),
                respect_retry_after_header=True,
                raise_on_status=False,
            )
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"Accept": "application/json", "User-Agent": "opmetrics", **self._headers})
            if self._auth:
                session.auth = self._auth
            self._local.session = session
        return session

    def url(self, path_or_url: str) -> str:
        """Absolute URL for a path relative to the base URL (absolute URLs pass through, e.g. Link headers)."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        if not path_or_url:
            return self.base_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> tuple[Any, requests.Response]:
        """GET a JSON document, waiting out rate limits and retrying transient faults."""
        url = self.url(path_or_url)
        s = self.settings
        bad_json = 0
        while True:
            try:
                response = self._session().get(url, params=params, timeout=(s.connect_timeout, s.read_timeout))
            except requests.RequestException as exc:
                raise ConnectorError(f"GET {redact_url(url)} failed: {type(exc).__name__}") from None
            self.requests_made += 1
            wait = self._rate_limit_wait(response)
            if wait is not None:
                if wait > s.max_rate_limit_wait:
                    raise ConnectorError(
                        f"GET {redact_url(url)}: rate limit resets in {wait:.0f}s, longer than the"
                        f" configured maximum wait of {s.max_rate_limit_wait:.0f}s"
                    )
                log.warning("rate limit reached at %s; waiting %.0fs for the reset", redact_url(url), wait)
                self._sleep(wait)
                continue
            if response.status_code >= 400:
                raise ConnectorError(
                    f"GET {redact_url(url)} answered {response.status_code}: {_error_summary(response)}"
                )
            try:
                return response.json(), response
            except ValueError:
                bad_json += 1
                if bad_json > s.invalid_json_retries:
                    raise ConnectorError(
                        f"GET {redact_url(url)} returned a body that is not valid JSON ({bad_json} attempts)"
                    ) from None
                delay = s.backoff_factor * 2 ** (bad_json - 1) * (1 + random.random())
                log.warning("invalid JSON from %s; retrying in %.1fs", redact_url(url), delay)
                self._sleep(delay)

    @staticmethod
    def _rate_limit_wait(response: requests.Response) -> float | None:
        """Seconds until GitHub's primary rate limit resets, when this response says it is exhausted."""
        if response.status_code not in (403, 429):
            return None
        if response.headers.get("x-ratelimit-remaining") != "0":
            return None
        reset = response.headers.get("x-ratelimit-reset")
        if reset is None or not reset.isdigit():
            return None
        return max(0.0, int(reset) - time.time()) + 1.0


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
