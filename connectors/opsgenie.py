"""Opsgenie: alerts and incidents of the mapped teams, read in order of their last update.

Payloads land verbatim. Alert `report.ackTime` / `report.closeTime` are milliseconds since `createdAt`, not
timestamps: staging turns them into times, the connector does not touch them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial

from pydantic import Field

from connectors.base import (
    BodyNextUrlPaginator,
    Checkpoint,
    Connector,
    Page,
    ServiceMapping,
    SourceSettings,
    Stream,
    SyncEvent,
    latest_cursor,
)
from connectors.http import HttpClient


class OpsgenieMapping(ServiceMapping):
    team: str = Field(pattern=r"^[\w.@-]+$")  # a team name, as written after `teams:` in a query


_next = BodyNextUrlPaginator("paging.next")
# Oldest update first, so the cursor (the newest `updatedAt` read) only moves forward within a partition.
_by_update = {"sort": "updatedAt", "order": "asc"}


class OpsgenieConnector(Connector):
    """Reads `/v2/alerts` and `/v1/incidents` per mapped team, from the team's cursor minus the lookback."""

    name = "opsgenie"
    mapping_model = OpsgenieMapping
    # Alerts and incidents page, key and filter alike; only their API version differs.
    splits_by_partition = True
    streams = tuple(
        Stream(
            name,
            path,
            ("id",),
            "updatedAt",
            _next,
            records_path="data",
            params=_by_update,
            required_fields=("id", "createdAt", "updatedAt", "status"),
            timestamp_fields=("createdAt", "updatedAt"),
        )
        for name, path in (("alerts", "v2/alerts"), ("incidents", "v1/incidents"))
    )

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        headers = {}
        if settings.token:
            headers["Authorization"] = f"GenieKey {settings.token.get_secret_value()}"
        return HttpClient(settings.api_url, headers=headers, settings=settings.http_settings())

    def sync(self, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        teams = sorted({m.team for m in self.mappings.values()})  # type: ignore[attr-defined]
        # One request a team and stream, each waiting on the API: the next teams are read while one is written.
        yield from self.read_partitions(partial(self._team, team, since) for team in teams)

    def _team(self, team: str, since: Callable[[str, str], datetime | None]) -> Iterator[SyncEvent]:
        """Both streams of one team, each from the team's cursor minus the lookback."""
        for stream in self.streams:
            lower = since(stream.name, team)
            query = f"teams:{team}"
            if lower:
                # Opsgenie's query language compares times as epoch milliseconds.
                query += f" AND updatedAt>={int(lower.timestamp() * 1000)}"
            params = {"query": query, "limit": self.settings.page_size}
            newest = None
            for page in self.read(stream, {"team": team}, params):
                yield Page(stream.name, page)
                newest = latest_cursor(newest, page)
            if newest:
                yield Checkpoint(stream.name, team, newest)
