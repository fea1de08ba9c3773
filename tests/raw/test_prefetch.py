"""A run reads its daily syncs at once (`orchestration/raw/prefetch.py`); each source's step writes what its early
read brought, and lands what a read in the step would have."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, materialize

from connectors.base import Connector
from connectors.registry import CONNECTORS
from orchestration.config import Catalog, parse_catalog
from orchestration.raw.assets import raw_assets
from orchestration.raw.prefetch import (
    RunPrefetch,
    adopt_reads_before_run,
    close_reads_before_run,
    daily_syncs,
    early_reads_in_processes,
    read_before_run,
    sources_ahead,
)
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.resources import OpmetricsResource
from orchestration.warehouse import connect, load_cursors, save_cursors
from sample_org import Organisation, SampleServer, generate, sample_tokens, token_environment
from sample_org.server import Request, Response
from tests.raw.snapshots import raw_rows
from tests.raw.test_incremental import sync_all


class FirstRequests:
    """Records when each source first asked its API, and how often it asked; answers nothing itself, unless `refuse`
    names a source to answer 401."""

    def __init__(self, refuse: str | None = None) -> None:
        self.first: dict[str, float] = {}
        self.count: Counter[str] = Counter()
        self.refuse = refuse
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response | None:
        source = request.base.rsplit("/", 1)[-1]  # the sample server's path prefix of the source
        if source == "github" and "/actions/" in request.path:  # GitHub Actions is read from GitHub's API
            source = "github_actions"
        with self._lock:
            self.first.setdefault(source, time.time())
            self.count[source] += 1
        return Response(401, {"message": "Bad credentials"}) if source == self.refuse else None


def connectors_of(catalog: Catalog) -> dict[str, Connector]:
    """A connector for each source of `catalog`, by name, in name order (the order of the sync steps)."""
    return {name: catalog.connector(name) for name in sorted(catalog.sources)}


@pytest.fixture(scope="module")
def org() -> Organisation:
    # Every kind of source, Opsgenie included; ends today, so a later sync re-reads its lookback's records.
    return generate(
        n_services=6, days=40, seed=3, end=dt.datetime.now(dt.UTC).date(), opsgenie_services=2, source_mix=True
    )


@pytest.fixture
def server(org: Organisation, monkeypatch: pytest.MonkeyPatch) -> Iterator[SampleServer]:
    tokens = sample_tokens()
    for name, value in token_environment(tokens).items():
        monkeypatch.setenv(name, value)
    with SampleServer(org, tokens=tokens) as served:
        yield served


@pytest.fixture
def synced(org: Organisation, server: SampleServer, tmp_path: Path) -> tuple[Catalog, Path]:
    """The served organisation's catalog, and a warehouse after every source's first sync."""
    catalog = parse_catalog(yaml.safe_load(org.config_yaml(server.url)))
    db = tmp_path / "w.duckdb"
    sync_all(catalog, db, "first")
    return catalog, db


@pytest.mark.parametrize("in_process", [False, True], ids=["in-threads", "in-processes"])
def test_early_reads_land_what_reads_in_their_steps_land(
    org: Organisation, server: SampleServer, tmp_path: Path, in_process: bool
) -> None:
    catalog = parse_catalog(yaml.safe_load(org.config_yaml(server.url)))
    assert set(catalog.sources) == set(CONNECTORS), "the sample should use every registered source"
    in_steps, early = tmp_path / "in_steps.duckdb", tmp_path / "early.duckdb"
    sync_all(catalog, in_steps, "first")
    shutil.copy(in_steps, early)
    sync_all(catalog, in_steps, "second")

    seen = FirstRequests()
    server.interceptors.append(seen)
    connectors = connectors_of(catalog)
    prefetch = RunPrefetch(at_once=len(connectors), in_process=in_process)
    with connect(early) as con:
        prefetch.start(con, connectors)
        # Every source's API is asked before the first source is written.
        wanted = set(connectors)
        deadline = time.monotonic() + 20
        while not wanted <= set(seen.first) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert wanted <= set(seen.first), (wanted, seen.first)
        for name in connectors:
            taken = prefetch.take(name, con, SyncOptions())
            assert taken is not None and taken[0] is connectors[name]
            sync_source(con, taken[0], SyncOptions(), "second", taken[1])
        assert prefetch.take("github", con, SyncOptions()) is None, "a read is taken once"
        cursors = {name: load_cursors(con, name) for name in connectors}
    prefetch.close()

    assert raw_rows(early) == raw_rows(in_steps)
    with connect(in_steps) as con:
        expected = {name: load_cursors(con, name) for name in connectors}
    # PagerDuty's users checkpoint at the time of the sync (nothing reads it): only they differ.
    for both in (cursors, expected):
        both["pagerduty"].pop(("users", "all"))
    assert cursors == expected


def reader_threads(source: str) -> list[threading.Thread]:
    """The threads reading `source` early (`open_read` names them)."""
    return [t for t in threading.enumerate() if t.name == f"{source}-reader"]


def stopped(source: str) -> bool:
    deadline = time.monotonic() + 10
    while reader_threads(source) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not reader_threads(source)


def gitlab_connector(catalog: Catalog) -> Connector:
    return connectors_of(catalog)["gitlab"]


def test_a_read_never_taken_is_stopped(synced: tuple[Catalog, Path]) -> None:
    catalog, db = synced
    prefetch = RunPrefetch(bytes_ahead=1)  # each read waits after its first page
    with connect(db) as con:
        prefetch.start(con, {"gitlab": gitlab_connector(catalog)})
    assert reader_threads("gitlab")
    prefetch.close()
    assert stopped("gitlab")


def reading_processes() -> set[int]:
    """This process's children that are reading processes (`orchestration/raw/reader.py`), by pid."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):  # ended meanwhile
            continue
        if ppid == os.getpid() and b"orchestration.raw.reader" in command:
            pids.add(int(entry.name))
    return pids


def test_an_early_read_in_a_process_reads_there_and_ends_at_once_when_stopped(
    synced: tuple[Catalog, Path], server: SampleServer
) -> None:
    catalog, db = synced
    release = threading.Event()

    def hold_gitlab(request: Request) -> Response | None:
        if request.base.rsplit("/", 1)[-1] == "gitlab":
            release.wait(60)  # the reading process waits on its API, and sends nothing
        return None

    server.interceptors.append(hold_gitlab)
    try:
        assert not reading_processes()
        prefetch = RunPrefetch(in_process=True)
        with connect(db) as con:
            prefetch.start(con, {"gitlab": gitlab_connector(catalog)})
        deadline = time.monotonic() + 20
        while not (started := reading_processes()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started, "the read runs in a reading process"
        assert reader_threads("gitlab"), "and a thread of this process takes its pages"
        stopping = time.monotonic()
        prefetch.close()
        # Not a speed test: without the kill, the close waited 30 s for the thread, and the process went on.
        assert time.monotonic() - stopping < 10, "stopping a read waits for nothing"
        assert stopped("gitlab")
        assert not any(Path(f"/proc/{pid}").exists() for pid in started), "the process ended and was reaped"
    finally:
        release.set()


def test_an_early_read_in_a_process_logs_at_the_level_the_run_sets_later(
    synced: tuple[Catalog, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A read opened before the run loads (the `connectors` logger still at Python's default, WARNING) still sends
    its progress lines, which are logged once the run has set INFO."""
    catalog, db = synced
    caplog.set_level(logging.WARNING, logger="connectors")
    prefetch = RunPrefetch(in_process=True)
    with connect(db) as con:
        prefetch.start(con, {"gitlab": gitlab_connector(catalog)})
        caplog.set_level(logging.INFO, logger="connectors")
        taken = prefetch.take("gitlab", con, SyncOptions())
        assert taken is not None
        sync_source(con, taken[0], SyncOptions(), "second", taken[1])
    prefetch.close()
    lines = [r for r in caplog.records if r.name.startswith("connectors.gitlab")]
    assert any(r.levelno == logging.INFO for r in lines), "the read's progress lines reach this process's log"
    assert not any(r.levelno < logging.INFO for r in lines)


def test_a_run_reads_early_in_processes_unless_its_reading_processes_are_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPMETRICS_READER_PROCESSES", raising=False)
    assert early_reads_in_processes()
    monkeypatch.setenv("OPMETRICS_READER_PROCESSES", "0")
    assert not early_reads_in_processes()


def test_a_read_that_began_elsewhere_is_stopped_and_never_written(synced: tuple[Catalog, Path]) -> None:
    """Nothing in a run moves a source's cursors before its step; were something to, the step reads again."""
    catalog, db = synced
    prefetch = RunPrefetch(bytes_ahead=1)
    with connect(db) as con:
        prefetch.start(con, {"gitlab": gitlab_connector(catalog)})
        cursors = load_cursors(con, "gitlab")
        (stream, partition), cursor = next((key, c) for key, c in cursors.items() if not isinstance(c, int))
        save_cursors(con, "gitlab", {(stream, partition): cursor + dt.timedelta(hours=1)}, "moved")
        assert prefetch.take("gitlab", con, SyncOptions()) is None
        assert stopped("gitlab")

        # And `sync_source` refuses such a read, and stops it.
        prefetch = RunPrefetch(bytes_ahead=1)
        prefetch.start(con, {"gitlab": gitlab_connector(catalog)})
        taken = prefetch.take("gitlab", con, SyncOptions())
        assert taken is not None
        connector, read = taken
        with pytest.raises(ValueError, match="gitlab: a read opened early must begin where the sync does"):
            sync_source(con, connector, SyncOptions(full_refresh=True), "s", read)
        assert stopped("gitlab")


def test_at_most_at_once_reads_are_open_and_a_step_taking_one_opens_the_next(
    synced: tuple[Catalog, Path], server: SampleServer
) -> None:
    catalog, db = synced
    seen = FirstRequests()
    server.interceptors.append(seen)
    names = sorted(catalog.sources)
    connectors = connectors_of(catalog)

    def asked(expected: set[str]) -> set[str]:
        """The sources asked so far, once `expected` all have been (or 20 s passed), and half a second more."""
        deadline = time.monotonic() + 20
        while not expected <= set(seen.first) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)
        return set(seen.first)

    prefetch = RunPrefetch(at_once=2)
    with connect(db) as con:
        prefetch.start(con, connectors)
        assert asked(set(names[:2])) == set(names[:2])
        taken = prefetch.take(names[0], con, SyncOptions())
        assert taken is not None
        assert asked(set(names[:3])) == set(names[:3])
        # A step out of order gets its read at once, and opens nothing more.
        last = prefetch.take(names[-1], con, SyncOptions())
        assert last is not None
        assert asked({*names[:3], names[-1]}) == {*names[:3], names[-1]}
        for connector, read in (taken, last):
            sync_source(con, connector, SyncOptions(), "second", read)
    prefetch.close()


def test_the_number_of_sources_read_ahead_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPMETRICS_SOURCES_AHEAD", "all")
    with pytest.raises(ValueError, match="OPMETRICS_SOURCES_AHEAD must be a whole number, got 'all'"):
        sources_ahead()
    monkeypatch.setenv("OPMETRICS_SOURCES_AHEAD", "17")
    with pytest.raises(ValueError, match="between 0 and 16, got 17"):
        sources_ahead()
    monkeypatch.delenv("OPMETRICS_SOURCES_AHEAD")
    assert sources_ahead() == 4


def step_starts(instance: DagsterInstance, run_id: str) -> dict[str, float]:
    return {
        record.step_key: record.timestamp
        for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
        if record.step_key
    }


def test_a_run_reads_its_daily_syncs_before_their_steps_and_a_failure_stays_in_its_own(
    org: Organisation, server: SampleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "opmetrics.yaml"
    config.write_text(org.config_yaml(server.url))
    catalog = parse_catalog(yaml.safe_load(config.read_text()))
    resources = {"opmetrics": OpmetricsResource(config_path=str(config))}
    instance = DagsterInstance.ephemeral()
    assert materialize(raw_assets, resources=resources, instance=instance).success  # the first syncs: backfills

    def run(seen: FirstRequests, run_config: dict | None = None) -> tuple[bool, dict[str, float], set[str]]:
        """Whether the run succeeded, when each sync step started, and the steps that failed."""
        server.interceptors[:] = [seen]
        result = materialize(raw_assets, resources=resources, instance=instance, run_config=run_config,
                             raise_on_error=False)  # fmt: skip
        failed = {e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE}
        return result.success, step_starts(instance, result.run_id), failed

    # Jira refreshed from scratch: the first sync step opens the first four other sources' reads, and each step
    # that takes its read opens the next one's, so their APIs are asked before their steps start; Jira's only in
    # its step.
    seen = FirstRequests()
    ok, starts, _ = run(seen, {"ops": {"sync_jira": {"config": {"full_refresh": True}}}})
    assert ok
    first_step = min((step for step in starts if step.startswith("sync_")), key=starts.__getitem__)
    assert first_step != "sync_jira"
    for name in sorted(catalog.sources):
        if f"sync_{name}" != first_step:
            read_early = seen.first[name] < starts[f"sync_{name}"]
            assert read_early == (name != "jira"), (name, seen.first, starts)

    # Jira's API refuses: its step fails with the API's answer, read early as it was; the others land.
    ok, _, failed = run(FirstRequests(refuse="jira"))
    assert not ok and failed == {"sync_jira"}

    # Turned off: no source's API is asked before its step.
    monkeypatch.setenv("OPMETRICS_SOURCES_AHEAD", "0")
    seen = FirstRequests()
    ok, starts, _ = run(seen)
    assert ok
    assert all(seen.first[name] > starts[f"sync_{name}"] for name in catalog.sources)


def test_a_run_syncs_early_the_configured_sources_its_steps_sync_from_their_cursors(
    org: Organisation, server: SampleServer
) -> None:
    catalog = parse_catalog(yaml.safe_load(org.config_yaml(server.url)))
    assert list(daily_syncs(catalog, {})) == sorted(catalog.sources)
    ops = {"sync_jira": {"config": {"full_refresh": True}}, "sync_gitlab": {"config": {"since": "2026-01-01"}}}
    assert list(daily_syncs(catalog, ops)) == sorted(set(catalog.sources) - {"jira", "gitlab"})
    assert list(daily_syncs(catalog, {}, steps=["sync_github", "service_catalog"])) == ["github"]
    del catalog.sources["opsgenie"]
    assert "opsgenie" not in daily_syncs(catalog, {}), "a source the catalog does not configure has no sync"


def test_the_reads_opened_before_a_run_are_its_own_and_land_what_reads_in_its_steps_land(
    org: Organisation, server: SampleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`opmetrics run` opens its reads before it loads Dagster: even the first sync step's API is asked before the
    run starts; the run's steps take those reads, asking no API again, and land what a run reading in its steps
    lands."""
    config = tmp_path / "opmetrics.yaml"
    config.write_text(org.config_yaml(server.url))
    catalog = parse_catalog(yaml.safe_load(config.read_text()))
    resources = {"opmetrics": OpmetricsResource(config_path=str(config))}
    instance = DagsterInstance.ephemeral()
    warehouse = catalog.warehouse_path(config.parent)
    assert not read_before_run(config, catalog, warehouse, {}), "nothing to read before a first run"
    assert not warehouse.exists(), "and no warehouse made for it"
    assert materialize(raw_assets, resources=resources, instance=instance).success  # the first syncs: backfills
    in_steps = tmp_path / "in_steps.duckdb"
    shutil.copy(warehouse, in_steps)

    early = FirstRequests()
    server.interceptors[:] = [early]
    assert read_before_run(config, catalog, warehouse, {})
    deadline = time.monotonic() + 20
    while "github" not in early.first and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "github" in early.first, "the first sync's API is asked before the run starts"
    assert materialize(raw_assets, resources=resources, instance=instance).success
    assert adopt_reads_before_run(config) is None, "the run adopted the reads"

    in_their_steps = FirstRequests()
    server.interceptors[:] = [in_their_steps]
    monkeypatch.setenv("OPMETRICS_SOURCES_AHEAD", "0")
    monkeypatch.setenv("OPMETRICS_WAREHOUSE", str(in_steps))
    assert materialize(raw_assets, resources=resources, instance=instance).success
    assert raw_rows(warehouse) == raw_rows(in_steps)
    assert early.count == in_their_steps.count, "no step read its source again"


def test_reads_opened_before_a_run_that_never_takes_them_are_stopped(synced: tuple[Catalog, Path]) -> None:
    catalog, db = synced
    config = db.with_name("opmetrics.yaml")
    assert read_before_run(config, catalog, db, {})
    assert reader_threads("github")
    close_reads_before_run()
    assert stopped("github")
    assert adopt_reads_before_run(config) is None


def test_opmetrics_run_opens_its_reads_before_it_loads_dagster_and_its_run_adopts_them(
    org: Organisation, server: SampleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run_daily`, the code of `opmetrics run`, on the daily job's raw syncs (its other steps cost seconds here and
    are not what this is about)."""
    from orchestration import cli, definitions, resources
    from orchestration.raw import prefetch

    config = tmp_path / "opmetrics.yaml"
    config.write_text(org.config_yaml(server.url))
    monkeypatch.setenv("OPMETRICS_CONFIG", str(config))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    # `run_daily` sets OPMETRICS_WAREHOUSE for dbt; set here first, so that it is unset again after the test
    monkeypatch.delenv("OPMETRICS_WAREHOUSE", raising=False)
    warehouse = parse_catalog(yaml.safe_load(config.read_text())).warehouse_path(config.parent)
    monkeypatch.setenv("OPMETRICS_WAREHOUSE", str(warehouse))
    graph = definitions.defs.resolve_asset_graph()
    raw_keys = {key for key in graph.materializable_asset_keys if key.path[0].startswith("raw_")}
    job = definitions.daily_refresh_job
    monkeypatch.setattr(definitions, "daily_refresh_job", lambda checks=True: job(checks).get_subset(
        asset_selection=raw_keys))  # fmt: skip
    opened: list[bool] = []
    read = prefetch.read_before_run
    monkeypatch.setattr(prefetch, "read_before_run", lambda *args: opened.append(read(*args)) or opened[-1])
    adopted: list[prefetch.RunPrefetch | None] = []
    adopt = resources.adopt_reads_before_run
    monkeypatch.setattr(resources, "adopt_reads_before_run", lambda path: adopted.append(adopt(path)) or adopted[-1])
    taken: dict[str, bool] = {}
    take = prefetch.RunPrefetch.take

    def record_take(self: prefetch.RunPrefetch, source: str, *args: object) -> object:
        read = take(self, source, *args)  # type: ignore[arg-type]
        taken[source] = read is not None
        return read

    monkeypatch.setattr(prefetch.RunPrefetch, "take", record_take)

    assert cli.run_daily(), "the first syncs (backfills)"
    assert not any(taken.values()), "a first sync reads in its step"
    taken.clear()
    assert cli.run_daily(), "the daily syncs"
    assert opened == [False, True]
    assert adopted[0] is None and isinstance(adopted[1], prefetch.RunPrefetch), "the second run adopted its reads"
    sources = parse_catalog(yaml.safe_load(config.read_text())).sources
    assert taken == dict.fromkeys(sources, True), "each step took the read opened before the run"


def test_a_warehouse_that_cannot_be_opened_before_the_run_leaves_the_reads_to_the_run(
    org: Organisation, server: SampleServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = parse_catalog(yaml.safe_load(org.config_yaml(server.url)))
    warehouse = tmp_path / "w.duckdb"
    warehouse.write_text("not a DuckDB file")
    assert not read_before_run(tmp_path / "opmetrics.yaml", catalog, warehouse, {})
    assert "not read before it starts" in caplog.text and str(warehouse) in caplog.text
    assert adopt_reads_before_run(tmp_path / "opmetrics.yaml") is None
    assert warehouse.read_text() == "not a DuckDB file"
