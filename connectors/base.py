"""The connector SDK: settings, stream declarations, paginators, and the generic read loop.

A connector declares its streams (path, primary key, cursor field, record selector, paginator) and writes a
`sync` that walks its API's partitions (repositories, services, projects); the shared machinery here does
paging, record extraction, progress logging and checkpoints.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.http import ConnectorError, HttpClient, HttpSettings, redact_url
from connectors.prefetch import chain_ahead
from connectors.timeparse import parse_timestamp

NO_KEY_PREFIX = "nokey:"  # the `_pk` of a record that arrived without its primary key

# Events (pages, checkpoints) a partition read ahead may hold: its memory is this many pages at most, besides what a
# connector holds itself while reading it (PagerDuty a whole window, up to 10,000 records).
PARTITION_EVENTS_AHEAD = 8

# Progress lines at INFO are few on purpose: each is an event the run stores (about 0.75 ms in the sync's process).
# At 1,000 services a first run logged about 9,000 of them (a line per repository and stream, one per 100 pull
# requests), 4,900 of them child streams'.
PROGRESS_EVERY_PAGES = 10  # a progress line every this many pages of a stream ...
PROGRESS_EVERY_SECONDS = 30.0  # ... or after this long without one, whichever comes first; a partition's end: DEBUG
CHILD_PROGRESS_EVERY = 1000  # child streams (one request per parent): one aggregate line per this many parents


# Off while reading a catalog only to find the warehouse (e.g. `opmetrics report`): no token is needed then.
RESOLVE_SECRETS: ContextVar[bool] = ContextVar("resolve_secrets", default=True)


def secret_from_env(value: Any) -> SecretStr | None:
    """Resolve `env:NAME` to the variable's value. Literal secrets are refused: they belong in the environment."""
    if value is None or isinstance(value, SecretStr):
        return value
    if not isinstance(value, str) or not value.startswith("env:"):
        raise ValueError("secrets must come from the environment: write `env:VARIABLE_NAME`, not the secret")
    name = value.removeprefix("env:").strip()
    if not name:
        raise ValueError("`env:` needs a variable name")
    if not RESOLVE_SECRETS.get():
        return None
    secret = os.environ.get(name)
    if not secret:
        raise ValueError(f"environment variable {name} is not set")
    return SecretStr(secret)


class CheckLimits(BaseModel):
    """Limits of the raw tables' checks. A connector or stream declares its own; the catalog may override them
    per source (`sources: {github: {checks: {freshness_days: 30}}}`). None: the declared value or the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    freshness_days: float | None = Field(default=None, gt=0)  # newest record older than this: a warning
    max_unparseable_share: float | None = Field(default=None, ge=0, le=1)  # share of odd cursors that fails a load
    max_row_drop_share: float | None = Field(default=None, ge=0, le=1)  # a table shrinking by more: a broken load

    def over(self, *fallbacks: CheckLimits) -> CheckLimits:
        """These limits, each unset one taken from the first fallback that sets it."""
        values = self.model_dump()
        for fallback in fallbacks:
            for name, value in fallback.model_dump().items():
                if values[name] is None:
                    values[name] = value
        return CheckLimits(**values)


# What a load may look like when neither the stream, its connector nor the catalog says otherwise.
DEFAULT_CHECK_LIMITS = CheckLimits(freshness_days=30, max_unparseable_share=0.01, max_row_drop_share=0.5)


class SourceSettings(BaseModel):
    """Settings every source has. A connector subclasses it for its own extra settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: str
    token: SecretStr | None = None
    checks: CheckLimits = CheckLimits()  # overrides of the declared check limits, for this source's streams
    lookback_days: float = Field(default=3, ge=0)
    connect_timeout_seconds: float = Field(default=5, gt=0)
    read_timeout_seconds: float = Field(default=30, gt=0)
    max_rate_limit_wait_seconds: float = Field(default=900, ge=0)
    page_size: int = Field(default=100, ge=1, le=100)
    concurrency: int = Field(default=4, ge=1, le=32)  # threads reading child streams (one request per parent)
    partitions_ahead: int = Field(default=2, ge=1, le=8)  # partitions (repositories) read at once

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> SecretStr | None:
        return secret_from_env(value)

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"api_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    def http_settings(self) -> HttpSettings:
        return HttpSettings(
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
        )


class UserTokenSettings(SourceSettings):
    """A source that authenticates with HTTP Basic `user:token` (Jira, Jenkins); both come from the environment."""

    user: SecretStr | None = None

    @field_validator("user", mode="before")
    @classmethod
    def _user(cls, value: Any) -> SecretStr | None:
        return secret_from_env(value)

    def basic_auth(self) -> tuple[str, str] | None:
        """The `(user, token)` pair for `HttpClient(auth=...)`, which requests sends with every request (no
        challenge first: Jenkins answers 403, not 401, when credentials are missing), or None without both."""
        if self.user and self.token:
            return self.user.get_secret_value(), self.token.get_secret_value()
        return None


class ServiceMapping(BaseModel):
    """How one service is found in a source (a repository, a service id, a project)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def key(self) -> str:
        """What must be unique across services: two services cannot claim the same thing in a source."""
        return ",".join(f"{v}" for v in self.model_dump().values())


class Record(NamedTuple):
    """One source record, as landed in `raw_<source>.<stream>`. A named tuple: a sync makes one per record, and a
    frozen dataclass's constructor cost several times as much."""

    pk: str
    cursor: datetime | None
    context: Mapping[str, Any]
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Page:
    """A batch of records of one stream, written in one transaction."""

    stream: str
    records: list[Record]


# Where a stream's partition has been read up to: a time (the newest cursor value read), or an integer position
# for a source that numbers its records and cannot filter them by time (a Jenkins job's build number). The
# warehouse stores either kind and only ever moves it forward.
Bookmark = datetime | int


@dataclass(frozen=True)
class Checkpoint:
    """The stream's partition has been read up to `cursor`; safe to store once earlier pages are committed."""

    stream: str
    partition: str
    cursor: Bookmark


@dataclass(frozen=True)
class PartitionDone:
    """The `index`-th partition of `read_partitions` has yielded all its events (only while reading a share of
    the partitions: `Connector.share`)."""

    index: int


SyncEvent = Page | Checkpoint | PartitionDone


def dig(data: Mapping[str, Any], dotted: str) -> Any:
    """`dig(r, "service.id")` -> r["service"]["id"], or None when any step is missing."""
    node: Any = data
    for part in _path_parts(dotted):
        # `type(...) is dict` first: an ABC isinstance costs more than the rest of a step (dig runs per field of
        # every record a sync reads).
        if type(node) is not dict and not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


@functools.lru_cache(maxsize=4096)
def _path_parts(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


# --- paginators: each yields (body, response) for every page of one request ---


class Paginator(ABC):
    @abstractmethod
    def pages(self, client: HttpClient, path: str, params: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        """Yield every page's JSON body and response, in the API's order."""


def _refuse_loop(seen: set[str], token: str, path: str) -> None:
    """A server that hands out the same next page twice would otherwise be paged forever."""
    if token in seen:
        shown = redact_url(token) if token.startswith(("http://", "https://")) else token
        raise ConnectorError(f"pagination of {redact_url(path)} loops: next page {shown!r} was already read")
    seen.add(token)


class _NextUrlPaginator(Paginator):
    """Follows absolute next-page URLs until there is none; subclasses say where the URL is."""

    @abstractmethod
    def next_url(self, body: Any, response: Any) -> str | None:
        """The next page's URL, or None on the last page."""

    def pages(self, client: HttpClient, path: str, params: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        url: str | None = path
        query: dict[str, Any] | None = params
        seen: set[str] = set()
        while url:
            body, response = client.get_json(url, query)
            yield body, response
            url = self.next_url(body, response)
            if url:
                _refuse_loop(seen, url, path)
            query = None  # the next URL carries the query


class LinkHeaderPaginator(_NextUrlPaginator):
    """`Link: <...>; rel="next"` (GitHub, GitLab keyset)."""

    def next_url(self, body: Any, response: Any) -> str | None:
        return response.links.get("next", {}).get("url")


class OffsetLimitPaginator(Paginator):
    """`offset`/`limit`/`more` (PagerDuty). Raises OffsetLimitReached before passing `max_offset`."""

    def __init__(self, max_offset: int | None = None) -> None:
        self.max_offset = max_offset

    def pages(self, client: HttpClient, path: str, params: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        limit = int(params.get("limit", 100))
        offset = int(params.get("offset", 0))
        while True:
            if self.max_offset is not None and offset + limit > self.max_offset:
                raise OffsetLimitReached(offset)
            body, response = client.get_json(path, {**params, "offset": offset, "limit": limit})
            yield body, response
            if not body.get("more"):
                return
            offset += limit


class OffsetLimitReached(Exception):
    """The API refuses offsets this deep; the caller must narrow its query (PagerDuty: a smaller window)."""


class NextPageTokenPaginator(Paginator):
    """`nextPageToken` / `isLast` in the body (Jira Cloud `/search/jql`)."""

    def pages(self, client: HttpClient, path: str, params: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        query = dict(params)
        seen: set[str] = set()
        while True:
            body, response = client.get_json(path, query)
            yield body, response
            token = body.get("nextPageToken")
            if body.get("isLast", token is None) or not token:
                return
            _refuse_loop(seen, token, path)
            query = {**params, "nextPageToken": token}


class NextPageHeaderPaginator(Paginator):
    """`page`/`per_page` with the next page's number in a response header (GitLab `X-Next-Page`).

    GitLab sends the header empty on the last page; a missing header also ends the stream.
    """

    def __init__(self, header: str = "X-Next-Page", param: str = "page") -> None:
        self.header = header
        self.param = param

    def pages(self, client: HttpClient, path: str, params: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        query = dict(params)
        seen: set[str] = {str(query.get(self.param, 1))}
        while True:
            body, response = client.get_json(path, query)
            yield body, response
            next_page = (response.headers.get(self.header) or "").strip()
            if not next_page:
                return
            _refuse_loop(seen, next_page, path)
            query = {**params, self.param: next_page}


class BodyNextUrlPaginator(_NextUrlPaginator):
    """The next page's absolute URL in the body (Opsgenie `paging.next`); absent on the last page."""

    def __init__(self, next_path: str = "paging.next") -> None:
        self.next_path = next_path

    def next_url(self, body: Any, response: Any) -> str | None:
        return dig(body, self.next_path) if isinstance(body, Mapping) else None


class RangePaginator(Paginator):
    """Jenkins `tree=<list>[fields]{M,N}`: elements M (inclusive) to N (exclusive) of a list, range after range.

    The `tree` parameter names the list without a range; `page_size` (consumed here, Jenkins has no such
    parameter) is each range's width. A range that comes back shorter than that is the last one. A server that
    ignores the range answers the same elements again, which the loop guard refuses.
    """

    def __init__(self, param: str = "tree", size_param: str = "page_size") -> None:
        self.param = param
        self.size_param = size_param

    def pages(self, client: HttpClient, path: str, params: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        query = dict(params)
        size = int(query.pop(self.size_param, 100))
        tree = query[self.param]
        listed = tree.split("[", 1)[0]  # `allBuilds[number,...]` lists its elements under `allBuilds`
        start = 0
        seen: set[str] = set()
        while True:
            body, response = client.get_json(path, {**query, self.param: f"{tree}{{{start},{start + size}}}"})
            yield body, response
            items = body.get(listed) if isinstance(body, Mapping) else None
            if not isinstance(items, list) or len(items) < size:
                return
            content = hashlib.sha1(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()
            _refuse_loop(seen, f"with elements {content}", path)
            start += size


@dataclass(frozen=True)
class Stream:
    """A stream is a declaration; `Connector.read` does the work."""

    name: str
    path: str  # relative to the API's base URL; `{placeholders}` filled from the partition
    primary_key: tuple[str, ...]  # dotted paths into the record; `_context.x` reads the context
    cursor_field: str | None  # dotted path of the replication key
    paginator: Paginator
    records_path: str | None = None  # key of the record list in the body; None: the body is the list
    params: Mapping[str, Any] = field(default_factory=dict)
    required_fields: tuple[str, ...] = ()  # dotted paths a record must carry (checked on the raw table)
    newest_first: bool = False  # lets `read` stop once a whole page is older than `since`
    # Dotted path of the field the source changes with every edit (updated_at); None: the cursor field. Two
    # versions of one record in one sync with equal versions and different content conflict (`merge_rows`).
    version_field: str | None = None
    # Dotted paths of the record's timestamps that must parse; a record with one that does not is quarantined
    # (`quarantined_records`). None: the cursor field.
    timestamp_fields: tuple[str, ...] | None = None
    checks: CheckLimits = field(default_factory=CheckLimits)  # this stream's own check limits, over its connector's
    # Dotted path of the integer a stream is bookmarked by when it checkpoints positions, not times (Jenkins
    # `number`): with `newest_first`, `read(..., since=<int>)` stops at the first record at or below it.
    position_field: str | None = None

    @property
    def parsed_timestamps(self) -> tuple[str, ...]:
        """The fields that must parse as timestamps: `timestamp_fields`, else the cursor field."""
        if self.timestamp_fields is not None:
            return self.timestamp_fields
        return (self.cursor_field,) if self.cursor_field else ()

    @property
    def version_path(self) -> str | None:
        """The field that tells two versions of a record apart: `version_field`, else the cursor field."""
        return self.version_field or self.cursor_field

    @functools.cached_property
    def _key_paths(self) -> tuple[tuple[bool, str], ...]:
        """Each key field: whether it is read from the context, and its path there or in the record."""
        return tuple(
            (True, k.removeprefix("_context.")) if k.startswith("_context.") else (False, k) for k in self.primary_key
        )

    def to_record(self, raw: Mapping[str, Any], context: Mapping[str, Any]) -> Record:
        """Extract the primary key and cursor from a raw record."""
        key_parts = [dig(context if in_context else raw, path) for in_context, path in self._key_paths]
        if None in key_parts or "" in key_parts:
            # A record without its identifier still lands, under a surrogate key from its content, so dbt can
            # quarantine it rather than the whole sync failing; the same payload always gets the same key.
            digest = hashlib.sha1(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
            pk = f"{NO_KEY_PREFIX}{digest}"
        else:
            pk = ":".join(str(p) for p in key_parts)
        cursor = None
        if self.cursor_field:
            try:
                cursor = parse_timestamp(dig(raw, self.cursor_field))
            except ValueError:
                cursor = None  # kept as is; the raw checks report unparseable timestamps
        return Record(pk, cursor, dict(context), raw)

    def is_after(self, record: Record, since: Bookmark) -> bool:
        """Whether `record` is still to be read: a time is a lower bound (inclusive), a position the last one
        read whole (exclusive). A record without the field is kept: dbt quarantines it, nothing is lost."""
        if isinstance(since, datetime):
            return record.cursor is None or record.cursor >= since
        if self.position_field is None:
            raise ValueError(f"stream {self.name} has no position_field to compare with position {since}")
        position = dig(record.payload, self.position_field)
        return position is None or position > since


def latest_cursor(current: datetime | None, page: list[Record]) -> datetime | None:
    """The newest cursor of `page` and `current`: where a partition read in any order has got to."""
    cursors = [r.cursor for r in page if r.cursor is not None]
    if current is not None:
        cursors.append(current)
    return max(cursors, default=None)


class ChildProgress:
    """Aggregate progress of a child stream read once per parent record (statuses of each deployment).

    One line per partition would drown the log, and none would leave a long sync silent: this logs one line
    every `every` parents (or PROGRESS_EVERY_SECONDS), counting across all the parents of the sync.
    """

    def __init__(self, log: logging.Logger, label: str, every: int = CHILD_PROGRESS_EVERY) -> None:
        self.log = log
        self.label = label
        self.every = every
        self.parents = 0
        self.records = 0
        self.started = self.last_line = time.monotonic()
        self._lock = threading.Lock()

    def add(self, records: int, parents: int = 1) -> None:
        """Count `parents` whose child records have all been read (from any of the partitions' threads)."""
        with self._lock:
            self.parents += parents
            self.records += records
            crossed = self.parents // self.every > (self.parents - parents) // self.every
            due = crossed or time.monotonic() - self.last_line >= PROGRESS_EVERY_SECONDS
        if due:
            self.report()

    def report(self) -> None:
        """Log the totals so far."""
        self.last_line = time.monotonic()
        elapsed = max(self.last_line - self.started, 1e-6)
        self.log.info(
            "%s: read for %d parents so far, %d records, %.0f records/s",
            self.label,
            self.parents,
            self.records,
            self.records / elapsed,
        )


def _then_done(produce: Callable[[], Iterable[SyncEvent]], index: int) -> Iterator[SyncEvent]:
    yield from produce()
    yield PartitionDone(index)


class Connector(ABC):
    """A source API turned into streams. Subclasses declare `name`, models, `streams`, and write `sync`."""

    name: ClassVar[str]
    settings_model: ClassVar[type[SourceSettings]] = SourceSettings
    mapping_model: ClassVar[type[ServiceMapping]]
    streams: ClassVar[tuple[Stream, ...]]
    checks: ClassVar[CheckLimits] = CheckLimits()  # check limits of every stream of the source, over the defaults
    # Every event of `sync` comes from one `read_partitions` call, so its partitions can be shared out among
    # several reading processes (`share`).
    splits_by_partition: ClassVar[bool] = False
    # (index, count): read only the partitions whose position modulo `count` is `index`, each ended by a
    # `PartitionDone`; None reads them all.
    share: tuple[int, int] | None = None
    _pool: ThreadPoolExecutor  # while `worker_pool()` is open

    @classmethod
    def check_limits(cls, stream: Stream, settings: SourceSettings | None = None) -> CheckLimits:
        """The limits of `stream`'s checks: the catalog's, else the stream's, else the connector's, else defaults."""
        overrides = settings.checks if settings is not None else CheckLimits()
        return overrides.over(stream.checks, cls.checks, DEFAULT_CHECK_LIMITS)

    def __init__(self, settings: SourceSettings, mappings: Mapping[str, ServiceMapping]) -> None:
        self.settings = settings
        self.mappings = dict(mappings)  # service name -> mapping
        self.client = self.make_client(settings)
        self.log = logging.getLogger(f"connectors.{self.name}")
        self._children: dict[str, ChildProgress] = {}

    @classmethod
    @abstractmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        """The HTTP client with this API's authentication headers."""

    @abstractmethod
    def sync(self, since: Callable[[str, str], Bookmark | None]) -> Iterator[SyncEvent]:
        """Read every stream. `since(stream, partition)` gives the lower bound (None: all history).

        The bound is a time, unless the partition checkpointed a position: then it is that position, as stored
        (a position is where reading resumes, not a time to rewind by the lookback); `--since` gives a time.
        """

    @classmethod
    def stream(cls, name: str) -> Stream:
        """The declared stream called `name`."""
        return next(s for s in cls.streams if s.name == name)

    def child_progress(self, stream: Stream) -> ChildProgress:
        """The aggregate progress of a child stream over this connector's sync (see `ChildProgress`)."""
        if stream.name not in self._children:
            self._children[stream.name] = ChildProgress(self.log, f"{self.name}.{stream.name}")
        return self._children[stream.name]

    def report_child_progress(self) -> None:
        """Log the final totals of every child stream (call at the end of `sync`)."""
        for progress in self._children.values():
            progress.report()

    @contextmanager
    def worker_pool(self) -> Iterator[ThreadPoolExecutor]:
        """The threads `read_children` reads with, for the whole sync: they keep their sessions, and so their
        keep-alive connections."""
        with ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix=self.name) as pool:
            self._pool = pool
            try:
                yield pool
            finally:
                del self._pool

    def read_partitions(self, partitions: Iterable[Callable[[], Iterable[SyncEvent]]]) -> Iterator[SyncEvent]:
        """The events of each partition's reader, partition after partition, exactly as a loop over them would
        yield them, while the next `partitions_ahead - 1` partitions are read in threads: one repository's
        requests wait on the API while another's pages are parsed and written.

        With a `share`, only that share of the partitions, each followed by its `PartitionDone`: the reader that
        started the shares takes the partitions from them in the order a single reader would have read them.
        """
        if self.share is not None:
            index, count = self.share
            partitions = [
                functools.partial(_then_done, produce, position)
                for position, produce in enumerate(partitions)
                if position % count == index
            ]
        yield from chain_ahead(partitions, ahead=self.settings.partitions_ahead, depth=PARTITION_EVENTS_AHEAD)

    def read_children(
        self,
        stream_name: str,
        parents: list[Any],
        read_one: Callable[[Any], list[Record]],
        batched: bool = False,
    ) -> list[Record]:
        """Read a child stream for many parents at once (inside `worker_pool()`): one request per parent dominates
        the sync time. Records come in the parents' order, so pages are deterministic. `batched`: each item of
        `parents` is a list of parents `read_one` reads together (GitLab's GraphQL), counted as that many."""
        progress = self.child_progress(self.stream(stream_name))
        records: list[Record] = []
        for parent, found in zip(parents, self._pool.map(read_one, parents), strict=True):
            progress.add(len(found), len(parent) if batched else 1)
            records.extend(found)
        return records

    def read_all(
        self,
        stream: Stream,
        partition: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        path: str | None = None,
    ) -> list[Record]:
        """Every record of one partition of a child stream (one parent's), read quietly."""
        return [r for page in self.read(stream, partition, params, path=path, quiet=True) for r in page]

    def read(
        self,
        stream: Stream,
        partition: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        since: Bookmark | None = None,
        path: str | None = None,
        quiet: bool = False,
    ) -> Iterator[list[Record]]:
        """Yield the stream's records page by page for one partition, logging progress as it goes.

        With `newest_first`, `since` (a time, or a position for a stream with a `position_field`) ends the read
        at the first record not after it. `quiet` is for child streams read once per parent record, whose
        per-partition lines would drown the log.
        """
        query = {**stream.params, **(params or {})}
        target = path or stream.path.format(**partition)

        def raw_pages() -> Iterator[list[Any]]:
            for body, _ in stream.paginator.pages(self.client, target, query):
                raw_records = body if stream.records_path is None else dig(body, stream.records_path)
                if not isinstance(raw_records, list):
                    raise ValueError(f"{self.name}.{stream.name}: page of {target} has no record list")
                yield raw_records

        yield from self.read_pages(stream, partition, raw_pages(), since, quiet)

    def read_pages(
        self,
        stream: Stream,
        partition: Mapping[str, Any],
        raw_pages: Iterable[list[Mapping[str, Any]]],
        since: Bookmark | None = None,
        quiet: bool = False,
    ) -> Iterator[list[Record]]:
        """`read` over pages of raw records fetched some other way (GitHub's GraphQL): the same records, the same
        stop at `since` for a `newest_first` stream, the same progress lines. Stops pulling pages once it stops."""
        started = last_line = time.monotonic()
        pages = records = 0
        for raw_records in raw_pages:
            page = [stream.to_record(raw, partition) for raw in raw_records]
            reached_since = False
            if stream.newest_first and since is not None:
                # Sorted newest first: the first record older than `since` ends the stream.
                fresh = [r for r in page if stream.is_after(r, since)]
                reached_since = len(fresh) < len(page)
                page = fresh
            pages += 1
            records += len(page)
            now = time.monotonic()
            if not quiet and (pages % PROGRESS_EVERY_PAGES == 0 or now - last_line >= PROGRESS_EVERY_SECONDS):
                self._progress(stream, partition, pages, records, started)
                last_line = now
            if page:
                yield page
            if reached_since:
                break
        if not quiet:
            self._progress(stream, partition, pages, records, started, done=True)

    def _progress(
        self,
        stream: Stream,
        partition: Mapping[str, Any],
        pages: int,
        records: int,
        started: float,
        done: bool = False,
    ) -> None:
        elapsed = max(time.monotonic() - started, 1e-6)
        where = ",".join(f"{v}" for v in partition.values()) or "-"
        self.log.log(
            logging.DEBUG if done else logging.INFO,
            "%s.%s [%s]: %s %d pages, %d records, %.0f records/s",
            self.name,
            stream.name,
            where,
            "read" if done else "reading",
            pages,
            records,
            records / elapsed,
        )
