"""`--full-refresh`, `--since` and `--source`: what lower bound each stream is read from, per source."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.base import (
    Bookmark,
    Checkpoint,
    Connector,
    LinkHeaderPaginator,
    Record,
    ServiceMapping,
    SourceSettings,
    Stream,
)
from connectors.http import HttpClient
from connectors.registry import CONNECTORS
from orchestration import cli
from orchestration.raw.sync import SYNC_GC_THRESHOLD, SyncOptions, sync_source
from orchestration.warehouse import (
    connect,
    ensure_raw_table,
    ensure_state_table,
    load_cursors,
    merge_records,
    save_cursors,
)

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class Recorder(Connector):
    """A connector without an API: records the lower bound it is given, and checkpoints `T`."""

    name = "recorder"
    mapping_model = ServiceMapping
    streams = (Stream("items", "items", ("id",), "at", LinkHeaderPaginator()),)
    bounds: list[Bookmark | None]
    checkpoint: Bookmark

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        return HttpClient(settings.api_url)

    def sync(self, since: Callable[[str, str], Bookmark | None]) -> Iterator[Checkpoint]:
        self.bounds.append(since("items", "all"))
        yield Checkpoint("items", "all", self.checkpoint)


def run(db: Path, options: SyncOptions, checkpoint: Bookmark = T) -> Bookmark | None:
    connector = Recorder(SourceSettings(api_url="http://127.0.0.1:9", lookback_days=2), {})
    connector.bounds, connector.checkpoint = [], checkpoint
    with connect(db) as con:
        sync_source(con, connector, options, "s")
    return connector.bounds[0]


def test_lower_bounds(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert run(db, SyncOptions()) is None, "a first sync reads all history"
    assert run(db, SyncOptions()) == T - timedelta(days=2), "then: the stored cursor minus the lookback"
    assert run(db, SyncOptions(full_refresh=True)) is None, "a full refresh ignores the cursor"
    backfill = run(db, SyncOptions(since=date(2025, 1, 1)), checkpoint=datetime(2025, 2, 1, tzinfo=UTC))
    assert backfill == datetime(2025, 1, 1, tzinfo=UTC), "a backfill reads from midnight UTC of its date"
    with connect(db) as con:
        assert load_cursors(con, "recorder") == {("items", "all"): T}, "and never rewinds the cursor"


def test_lower_bounds_of_a_stream_that_checkpoints_positions(tmp_path: Path) -> None:
    """A position (a Jenkins build number) comes back as stored: the lookback is a time, not a count of builds."""
    db = tmp_path / "w.duckdb"
    assert run(db, SyncOptions(), checkpoint=41) is None
    assert run(db, SyncOptions(), checkpoint=40) == 41, "the stored position, as is"
    assert run(db, SyncOptions(full_refresh=True), checkpoint=45) is None
    backfill = run(db, SyncOptions(since=date(2025, 1, 1)), checkpoint=42)
    assert backfill == datetime(2025, 1, 1, tzinfo=UTC), "a backfill reads from a date, whatever the stream"
    assert run(db, SyncOptions(), checkpoint=44) == 45, "a checkpoint below the stored one never rewinds it"
    with connect(db) as con:
        assert load_cursors(con, "recorder") == {("items", "all"): 45}
        assert con.execute("select cursor from raw_state.cursors").fetchall() == [(None,)], "no time beside it"


def test_a_warehouse_from_before_positions_keeps_its_cursors(tmp_path: Path) -> None:
    """`raw_state.cursors` as earlier versions created it (no `position`, `cursor not null`) gains the column,
    keeps its rows, and stores both kinds from then on."""
    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        con.execute("create schema raw_state")
        con.execute(
            """create table raw_state.cursors (
                source varchar, stream varchar, partition varchar,
                cursor timestamptz not null, updated_at timestamptz not null, sync_id varchar not null,
                primary key (source, stream, partition))"""
        )
        con.execute("insert into raw_state.cursors values ('github', 'commits', 'acme/shop', ?, ?, 'old')", [T, T])
    with connect(db) as con:
        assert load_cursors(con, "github") == {("commits", "acme/shop"): T}
        save_cursors(con, "jenkins", {("builds", "deploy/shop"): 7, ("builds", "deploy/cart"): 3}, "new")
        save_cursors(con, "jenkins", {("builds", "deploy/shop"): 5}, "newer")
        save_cursors(con, "github", {("commits", "acme/shop"): T - timedelta(days=1)}, "newer")
        assert load_cursors(con, "jenkins") == {("builds", "deploy/shop"): 7, ("builds", "deploy/cart"): 3}
        assert load_cursors(con, "github") == {("commits", "acme/shop"): T}
    with connect(db) as con:  # and again: the change is made once
        ensure_state_table(con)
        columns = con.execute(
            "select column_name, is_nullable from information_schema.columns where table_name = 'cursors'"
        ).fetchall()
    assert ("position", "YES") in columns and ("cursor", "YES") in columns


def test_source_selects_what_the_options_apply_to() -> None:
    everything = cli.raw_run_config(True, date(2026, 1, 2))["ops"]
    assert set(everything) == {f"sync_{name}" for name in CONNECTORS}
    assert all(op["config"] == {"full_refresh": True, "since": "2026-01-02"} for op in everything.values())
    one = cli.raw_run_config(True, None, ["github"])["ops"]
    assert one["sync_github"]["config"] == {"full_refresh": True, "since": None}
    assert all(op["config"] == {"full_refresh": False, "since": None} for k, op in one.items() if k != "sync_github")


def test_source_option_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(cli, "run_daily", lambda *args: calls.append(args) or True)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["run", "--since", "2026-01-02", "--source", "jira", "--source", "opsgenie"])
    assert result.exit_code == 0, result.output
    assert calls == [(False, date(2026, 1, 2), ("jira", "opsgenie"))]
    assert runner.invoke(cli.main, ["run", "--source", "jira"]).exit_code == 2  # nothing to apply it to
    assert runner.invoke(cli.main, ["run", "--full-refresh", "--source", "nope"]).exit_code == 2


def test_the_warehouse_connection_caps_duckdb_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB's cache would otherwise take up to 80% of the machine: the process would grow with the history."""
    monkeypatch.delenv("OPMETRICS_MEMORY_LIMIT", raising=False)
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("244.1 MiB",)  # 256MB
    monkeypatch.setenv("OPMETRICS_MEMORY_LIMIT", "1GB")
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("953.6 MiB",)
    monkeypatch.setenv("OPMETRICS_MEMORY_LIMIT", "lots; drop table x")
    with (
        pytest.raises(ValueError, match="OPMETRICS_MEMORY_LIMIT='lots; drop table x' is not a size"),
        connect(tmp_path / "w.duckdb"),
    ):
        pass


def test_a_sync_checkpoints_when_the_warehouse_closes_not_every_few_commits(tmp_path: Path) -> None:
    """At DuckDB's default (a checkpoint whenever the log passes 16MB) a first sync rewrote the table's last row
    group every few commits; committed pages now wait in the log until the connection closes, and none is lost."""
    path = tmp_path / "w.duckdb"
    wal = tmp_path / "w.duckdb.wal"
    payload = {"message": "x" * 2_000}
    with connect(path) as con:
        table = ensure_raw_table(con, "demo", "items")
        for batch in range(10):  # ~24MB of payloads, one transaction a batch
            records = [Record(f"{batch}-{i}", T, {}, {"id": i, **payload}) for i in range(1_200)]
            con.begin()
            merge_records(con, table, records, "s1")
            con.commit()
        assert wal.stat().st_size > 16 * 1024 * 1024  # past DuckDB's default threshold, still not checkpointed
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed on close
    with connect(path, read_only=True) as con:
        assert con.execute(f"select count(*), count(distinct _pk) from {table}").fetchone() == (12_000, 12_000)


class Failing(Recorder):
    """Fails mid-sync, as a source that goes down would, noting the collector's settings then."""

    during: list[tuple[int, bool]]

    def sync(self, since: Callable[[str, str], Bookmark | None]) -> Iterator[Checkpoint]:
        self.during.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        raise RuntimeError("source down")


def test_a_sync_tunes_the_garbage_collector_and_puts_it_back_even_when_it_fails(tmp_path: Path) -> None:
    """During a sync: young collections every SYNC_GC_THRESHOLD objects, older objects frozen. After it, failed or
    not, the process's own settings again (a frozen object stays uncollectable until it is unfrozen)."""
    before = gc.get_threshold()
    connector = Failing(SourceSettings(api_url="http://127.0.0.1:9"), {})
    connector.during = []
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(RuntimeError, match="source down"):
        sync_source(con, connector, SyncOptions(), "s")
    assert connector.during == [(SYNC_GC_THRESHOLD, True)]
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
