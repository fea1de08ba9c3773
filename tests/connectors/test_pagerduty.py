"""PagerDuty: the cursor follows the incidents and log entries read, not this machine's clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from connectors.timeparse import parse_timestamp
from orchestration.config import parse_catalog
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect, load_cursors
from sample_org import Organisation, SampleServer, generate
from tests.raw.test_crash_resume import ENV, TOKENS


def sync_pagerduty(org: Organisation, db: Path, sync_id: str) -> None:
    """One PagerDuty sync of `org`, served on loopback, into `db`; a first sync reaches the organisation's start."""
    today = dt.datetime.now(dt.UTC).date()
    with SampleServer(org, tokens=TOKENS) as server:
        catalog = parse_catalog(yaml.safe_load(org.config_yaml(server.url, today=today)))
        with connect(db) as con:
            sync_source(con, catalog.connector("pagerduty"), SyncOptions(), sync_id)


def stored_ids(db: Path, stream: str) -> set[str]:
    with connect(db, read_only=True) as con:
        return {pk for (pk,) in con.execute(f"select _pk from raw_pagerduty.{stream}").fetchall()}


def test_a_day_added_to_a_history_that_ended_months_ago_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark's case: a history that ended months ago, then the same history with one more day. A cursor
    at the clock's now put the new day months before the lookback window, and it was never read."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    # Fixed, so the added day is the same every day the test runs: seed 4 adds an incident and three log entries.
    end = dt.date(2026, 6, 1)
    org = generate(n_services=3, days=30, seed=4, end=end)
    db = tmp_path / "w.duckdb"
    sync_pagerduty(org, db, "first")

    with connect(db) as con:
        cursors = load_cursors(con, "pagerduty")
    for stream, records in (("incidents", org.pagerduty_incidents), ("log_entries", org.pagerduty_log_entries)):
        assert stored_ids(db, stream) == {r["id"] for r in records}
        # The newest record read, not the time of the sync (a month later).
        assert cursors[(stream, "all")] == max(parse_timestamp(r["created_at"]) for r in records)

    later = generate(n_services=3, days=31, seed=4, end=end + dt.timedelta(days=1))
    new_incidents = {r["id"] for r in later.pagerduty_incidents} - stored_ids(db, "incidents")
    assert new_incidents, "the added day should hold incidents: pick another seed"
    sync_pagerduty(later, db, "second")
    assert stored_ids(db, "incidents") == {r["id"] for r in later.pagerduty_incidents}
    assert stored_ids(db, "log_entries") == {r["id"] for r in later.pagerduty_log_entries}
