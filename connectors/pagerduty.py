"""PagerDuty: incidents and their log entries (trigger, acknowledge, resolve), and the users with their teams."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

from pydantic import Field

from connectors.base import (
    Checkpoint,
    Connector,
    OffsetLimitPaginator,
    OffsetLimitReached,
    Page,
    ServiceMapping,
    SourceSettings,
    Stream,
    SyncEvent,
    latest_cursor,
)
from connectors.http import ConnectorError, HttpClient
from connectors.timeparse import isoformat_z

# PagerDuty answers 400 once offset + limit passes 10,000; windows keep every query below that.
MAX_OFFSET = 10_000
ALL = "all"


class PagerdutySettings(SourceSettings):
    history_days: float = Field(default=730, gt=0)  # how far back a first sync reaches
    window_days: float = Field(default=90, gt=0)  # since/until window per query


class PagerdutyMapping(ServiceMapping):
    service_id: str


_offset = OffsetLimitPaginator(max_offset=MAX_OFFSET)


class PagerdutyConnector(Connector):
    """Reads incidents of the mapped services and the account's log entries, in since/until windows."""

    name = "pagerduty"
    settings_model = PagerdutySettings
    mapping_model = PagerdutyMapping
    streams = (
        Stream(
            "incidents",
            "incidents",
            ("id",),
            "created_at",
            _offset,
            records_path="incidents",
            params={"sort_by": "created_at:asc", "time_zone": "UTC"},
            required_fields=("id", "created_at", "status", "service.id"),
            version_field="updated_at",  # the cursor (created_at) stays put when an incident is resolved
        ),
        Stream(
            "log_entries",
            "log_entries",
            ("id",),
            "created_at",
            _offset,
            records_path="log_entries",
            params={"is_overview": "true", "time_zone": "UTC"},
            required_fields=("id", "type", "created_at", "incident.id"),
        ),
        # Who is on which PagerDuty team, so a responder's team is known. Users have no time to read from: the
        # stream is a snapshot, read whole every run (an account has hundreds of users, not millions).
        Stream(
            "users",
            "users",
            ("id",),
            None,
            _offset,
            records_path="users",
            params={"include[]": "teams"},
            required_fields=("id", "name"),
        ),
    )

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        headers = {"Accept": "application/vnd.pagerduty+json;version=2"}
        if settings.token:
            headers["Authorization"] = f"Token token={settings.token.get_secret_value()}"
        return HttpClient(settings.api_url, headers=headers, settings=settings.http_settings())

    def sync(self, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        settings = self.settings
        assert isinstance(settings, PagerdutySettings)
        now = datetime.now(UTC)
        service_ids = sorted({m.service_id for m in self.mappings.values()})  # type: ignore[attr-defined]
        windows = []
        for stream_name, extra in (("incidents", {"service_ids[]": service_ids}), ("log_entries", {})):
            start = since(stream_name, ALL) or now - timedelta(days=settings.history_days)
            window = timedelta(days=settings.window_days)
            lower = start
            while lower < now:
                upper = min(lower + window, now)
                windows.append(partial(self._window_then_checkpoint, stream_name, extra, lower, upper))
                lower = upper
        # Windows are read `partitions_ahead` at a time (a sync is otherwise one request after another), and their
        # events come in the windows' order, so each checkpoint still follows every window before it.
        yield from self.read_partitions(windows)
        yield from self._users(now)

    def _window_then_checkpoint(
        self, stream_name: str, extra: dict, lower: datetime, upper: datetime
    ) -> Iterator[SyncEvent]:
        newest: datetime | None = None
        for page in self._window(stream_name, extra, lower, upper):
            yield page
            newest = latest_cursor(newest, page.records)
        # The cursor follows the data, not this machine's clock: it moves to the newest `created_at` read (every
        # window before this one read too), so a record the API shows late, or a clock ahead of the API's, is
        # re-read from there minus the lookback rather than skipped. A window with nothing in it moves nothing.
        if newest is not None:
            yield Checkpoint(stream_name, ALL, newest)

    def _users(self, now: datetime) -> Iterator[SyncEvent]:
        """Every user with their teams; the checkpoint only commits the pages (nothing reads its cursor)."""
        params = {"limit": self.settings.page_size}
        for page in self.read(self.stream("users"), {}, params):
            yield Page("users", page)
        yield Checkpoint("users", ALL, now)

    def _window(self, stream_name: str, extra: dict, lower: datetime, upper: datetime) -> Iterator[Page]:
        """Read one window; halve it when it holds more than PagerDuty will page through.

        A window's pages are held until it is read whole: a window that turns out too big is read again as two
        halves, and yielding its first pages early would deliver those records twice.
        """
        params = {
            **extra,
            "since": isoformat_z(lower),
            "until": isoformat_z(upper),
            "limit": self.settings.page_size,
        }
        pages: list[Page] = []
        try:
            for page in self.read(self.stream(stream_name), {}, params):
                pages.append(Page(stream_name, page))
        except OffsetLimitReached:
            if upper - lower <= timedelta(seconds=1):  # queries carry whole seconds: no narrower window exists
                raise ConnectorError(
                    f"pagerduty {stream_name}: more than {MAX_OFFSET} records created in the second"
                    f" {isoformat_z(lower)}; PagerDuty cannot page through them"
                ) from None
            middle = lower + (upper - lower) / 2
            self.log.info(
                "%s: more than %d records from %s to %s; halving the window",
                stream_name,
                MAX_OFFSET,
                isoformat_z(lower),
                isoformat_z(upper),
            )
            yield from self._window(stream_name, extra, lower, middle)
            yield from self._window(stream_name, extra, middle, upper)
            return
        yield from pages
