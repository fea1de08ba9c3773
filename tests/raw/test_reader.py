"""Reading in processes (`orchestration/raw/reader.py`) lands what reading in a thread lands, in the same order,
and fails, logs and stops the way it does."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import orchestration.raw.reader as reader_module
import orchestration.raw.sync as sync_module
from connectors.base import (
    Bookmark,
    Connector,
    LinkHeaderPaginator,
    Page,
    ServiceMapping,
    SourceSettings,
    Stream,
    SyncEvent,
)
from connectors.http import ConnectorError, HttpClient
from connectors.registry import CONNECTORS
from orchestration.config import Catalog, parse_catalog
from orchestration.raw.reader import Bounds, ReaderError, read_in_processes, reader_processes
from orchestration.raw.rows import Row, RowPage
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect
from sample_org import SampleServer, generate, sample_tokens, token_environment
from tests.conftest import ROOT
from tests.connectors.fakes import FAKES, TOKEN, FakeApi, connector_name
from tests.raw.snapshots import raw_rows
from tests.raw.test_crash_resume import reading_processes


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACT_TOKEN", TOKEN)
    monkeypatch.setenv("CONTRACT_USER", "bot@example.com")


def build(name: str, server: HTTPServer) -> Connector:
    """The connector of fake `name` (tests/connectors/fakes.py) on `server`."""
    fixture = FAKES[name](FakeApi(server))
    cls = CONNECTORS[connector_name(name)]
    settings = cls.settings_model.model_validate(fixture.settings)
    mappings = {svc: cls.mapping_model.model_validate(m) for svc, m in fixture.mappings.items()}
    return cls(settings, mappings)


@pytest.fixture(scope="module")
def sample_catalog() -> Iterator[Catalog]:
    """Six services spread over every source, served with small pages: many partitions and pages to order."""
    org = generate(n_services=6, days=40, seed=4, end=dt.date(2026, 6, 1), opsgenie_services=2, source_mix=True)
    tokens = sample_tokens()
    with pytest.MonkeyPatch.context() as patch, SampleServer(org, tokens=tokens) as server:
        for name, value in token_environment(tokens).items():
            patch.setenv(name, value)
        catalog = yaml.safe_load(org.config_yaml(server.url))
        for settings in catalog["sources"].values():
            settings["page_size"] = 5
        catalog["sources"]["pagerduty"]["history_days"] = (dt.datetime.now(dt.UTC).date() - org.start).days + 1
        yield parse_catalog(catalog)


def connector_of(catalog: Catalog, source: str) -> Connector:
    return catalog.connector(source)


def synced(catalog: Catalog, path: Path, readers: int) -> tuple[dict, list[str], dict[str, int]]:
    """The raw rows, the order rows were merged in, and the requests counted per source, of one sync of every
    source."""
    order: list[str] = []
    requests: dict[str, int] = {}
    merge = sync_module.merge_rows

    def tracing_merge(con, table, rows, *args, **kwargs) -> int:  # type: ignore[no-untyped-def]
        order.extend(f"{table} {row.pk}" for row in rows)
        return merge(con, table, rows, *args, **kwargs)

    sync_module.merge_rows = tracing_merge
    try:
        with connect(path) as con:
            for source in sorted(catalog.sources):
                connector = connector_of(catalog, source)
                sync_source(con, connector, SyncOptions(reader_processes=readers, batch_records=7), "s1")
                requests[source] = connector.client.requests_made
    finally:
        sync_module.merge_rows = merge
    return raw_rows(path), order, requests


def test_processes_land_what_a_thread_lands_in_the_same_order(sample_catalog: Catalog, tmp_path: Path) -> None:
    """Every source of the sample organisation; GitHub's repositories, GitLab's projects, Jenkins' jobs,
    Opsgenie's teams and GitHub Actions' workflows shared out among 3 processes, PagerDuty and Jira read in one."""
    in_thread = synced(sample_catalog, tmp_path / "thread.duckdb", readers=0)
    rows, order, requests = in_thread
    assert all(rows.values()) and len(order) > 500 and all(requests.values())
    assert synced(sample_catalog, tmp_path / "processes.duckdb", readers=3) == in_thread


def test_a_split_connector_reads_its_partitions_in_several_processes(
    sample_catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    connector = connector_of(sample_catalog, "github")
    repositories = {m.repo for m in connector.mappings.values()}
    assert connector.splits_by_partition and len(repositories) >= 3
    with caplog.at_level(logging.DEBUG, logger="connectors"):
        for _ in read_in_processes(connector, Bounds(), processes=2):
            pass
    # Each repository's progress lines (its partitions' ends, at DEBUG) come from one process; the two processes
    # share the repositories.
    by_process: dict[int, set[str]] = {}
    for record in caplog.records:
        if record.name == "connectors.github" and (line := re.search(r"\[([^],]+)[],]", record.getMessage())):
            by_process.setdefault(record.process, set()).add(line.group(1))
    assert len(by_process) == 2 and os.getpid() not in by_process
    assert set.union(*by_process.values()) == repositories
    assert not set.intersection(*by_process.values())


def test_a_failure_in_a_reading_process_is_the_connectors_own(httpserver: HTTPServer, tmp_path: Path) -> None:
    """The same error type and message as reading in a thread, with the reading process's traceback as a note."""
    httpserver.expect_request("/incidents").respond_with_json({"error": {"message": "Invalid token"}}, status=401)
    errors = []
    for readers in (0, 2):
        with connect(tmp_path / f"w{readers}.duckdb") as con, pytest.raises(ConnectorError) as failed:
            sync_source(con, build("pagerduty", httpserver), SyncOptions(reader_processes=readers), "s1")
        errors.append(str(failed.value))
    assert errors[0] == errors[1] and "401" in errors[0]
    (note,) = failed.value.__notes__
    assert note.startswith("raised in pagerduty reading process 0:\nTraceback") and "connectors/" in note
    assert TOKEN not in errors[1] + note


def test_progress_lines_of_a_reading_process_reach_this_process_log(
    httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    connector = build("github", httpserver)
    with caplog.at_level(logging.DEBUG, logger="connectors"), connect(tmp_path / "w.duckdb") as con:
        sync_source(con, connector, SyncOptions(reader_processes=2), "s1")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("connectors.github")]
    # A partition's end, at DEBUG: the reading processes log at the level this one does.
    assert any("]: read " in line and "records/s" in line for line in lines), lines
    assert all(TOKEN not in line for line in lines)


def test_a_write_that_fails_stops_the_reading_processes(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = build("github", httpserver)

    def failing_merge(*args: object, **kwargs: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(sync_module, "merge_rows", failing_merge)
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(OSError, match="disk full"):
        sync_source(con, connector, SyncOptions(reader_processes=2, batch_records=1), "s1")
    assert not reading_processes(os.getpid())


@pytest.fixture
def stall() -> Iterator[Callable[[Request], Response]]:
    """A handler that answers only when the test ends (pytest-httpserver serves one request at a time)."""
    release = threading.Event()

    def handler(request: Request) -> Response:
        release.wait(30)
        return Response("[]", content_type="application/json")

    yield handler
    release.set()


def test_a_reading_process_that_dies_fails_the_sync_naming_it(
    httpserver: HTTPServer, stall: Callable[[Request], Response]
) -> None:
    connector = build("pagerduty", httpserver)
    httpserver.clear()
    httpserver.expect_request("/incidents").respond_with_handler(stall)
    events = read_in_processes(connector, Bounds(), processes=1)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(next, events)  # starts the reading process, which waits on the API
        deadline = time.monotonic() + 10
        while not (readers := reading_processes(os.getpid())):
            assert time.monotonic() < deadline, "the reading process did not start"
            time.sleep(0.05)
        for process in readers:
            process.kill()
        with pytest.raises(ReaderError, match=r"pagerduty reading process 0 ended without finishing \(exit code -9\)"):
            first.result(timeout=20)


_PARENT = """
import sys
from orchestration.raw.reader import Bounds, read_in_processes
from tests.raw.test_reader import build_for_child
connector = build_for_child(sys.argv[1])
for event in read_in_processes(connector, Bounds(), processes=2):
    pass
"""


def build_for_child(url: str) -> Connector:
    """A GitHub connector on the server at `url` (for `_PARENT`, which runs without pytest's fixtures)."""
    cls = CONNECTORS["github"]
    settings = cls.settings_model.model_validate({"api_url": url, "token": "env:CONTRACT_TOKEN", "api": "rest"})
    mappings = {f"s{i}": cls.mapping_model.model_validate({"repo": f"org/r{i}", "environment": "prod"}) for i in (1, 2)}
    return cls(settings, mappings)


def test_killing_the_sync_kills_its_reading_processes(
    httpserver: HTTPServer, stall: Callable[[Request], Response]
) -> None:
    """Linux: a reading process waiting on the API dies with the sync's process."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the kernel's parent-death signal is Linux's")
    httpserver.expect_request("/repos/org/r1/deployments").respond_with_handler(stall)
    httpserver.expect_request("/repos/org/r2/deployments").respond_with_handler(stall)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, httpserver.url_for("/")], cwd=ROOT, env=env)
    deadline = time.monotonic() + 20
    while len(readers := reading_processes(parent.pid)) < 2:
        assert time.monotonic() < deadline and parent.poll() is None, "the reading processes did not start"
        time.sleep(0.05)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    _, alive = psutil.wait_procs(readers, timeout=10)
    assert not alive


def test_reader_processes_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPMETRICS_READER_PROCESSES", raising=False)
    assert reader_processes() == 2
    monkeypatch.setenv("OPMETRICS_READER_PROCESSES", "0")
    assert reader_processes() == 0
    monkeypatch.setenv("OPMETRICS_READER_PROCESSES", "two")
    with pytest.raises(ValueError, match="OPMETRICS_READER_PROCESSES must be a whole number, got 'two'"):
        reader_processes()


def test_a_backfill_reads_in_processes_and_a_sync_from_stored_cursors_in_a_thread(
    httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def reading_pids(options: SyncOptions) -> set[int]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="connectors"), connect(tmp_path / "w.duckdb") as con:
            sync_source(con, build("github", httpserver), options, "s")
        return {r.process for r in caplog.records if r.name == "connectors.github"}

    first = reading_pids(SyncOptions(reader_processes=2))
    assert first and os.getpid() not in first, "the first sync read in processes"
    assert reading_pids(SyncOptions(reader_processes=2)) == {os.getpid()}, "the next resumed from its cursors"
    again = reading_pids(SyncOptions(reader_processes=2, full_refresh=True))
    assert again and os.getpid() not in again, "a full refresh is a backfill"


class Bulky(Connector):
    """A connector without an API: many pages of half-kilobyte records, messages far larger than a pipe holds."""

    name = "bulky"
    mapping_model = ServiceMapping
    streams = (Stream("items", "items", ("id",), "at", LinkHeaderPaginator()),)
    pages = 400

    @classmethod
    def make_client(cls, settings: SourceSettings) -> HttpClient:
        return HttpClient(settings.api_url)

    def sync(self, since: Callable[[str, str], Bookmark | None]) -> Iterator[SyncEvent]:
        stream = self.stream("items")
        at = "2026-01-01T00:00:00Z"
        for page in range(self.pages):
            raw = [{"id": page * 250 + i, "at": at, "text": "é" * 250} for i in range(250)]
            yield Page("items", [stream.to_record(r, {}) for r in raw])


def test_a_reading_process_stopped_and_continued_loses_no_message() -> None:
    """SIGSTOP and SIGCONT (a shell's Ctrl-Z then `fg`, a profiler sampling the process) interrupt its writes:
    every message still arrives whole. Python's buffered writer lost bytes of an interrupted message."""
    connector = Bulky(SourceSettings(api_url="http://127.0.0.1:9"), {})
    stop = threading.Event()
    pauses = 0

    def stop_and_continue() -> None:
        nonlocal pauses
        while not (readers := reading_processes(os.getpid())) and not stop.is_set():
            time.sleep(0.01)
        while not stop.is_set():
            for reader in readers:
                with contextlib.suppress(psutil.Error):
                    reader.suspend()
            time.sleep(0.002)
            for reader in readers:
                with contextlib.suppress(psutil.Error):
                    reader.resume()
            pauses += 1
            time.sleep(0.004)

    pauser = threading.Thread(target=stop_and_continue, daemon=True)
    pauser.start()
    ids: list[str] = []
    try:
        for message in read_in_processes(connector, Bounds(), processes=1):
            if isinstance(message, RowPage):
                ids.extend(row.pk for row in message.rows)
                time.sleep(0.001)  # a writer slower than the reader: the pipe fills, writes block
    finally:
        stop.set()
        pauser.join()
    assert ids == [str(i) for i in range(Bulky.pages * 250)]
    assert pauses >= 20, f"the reader was stopped only {pauses} times"


def test_a_message_written_a_few_bytes_at_a_time_arrives_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe may take part of a write (a stopped and continued process, a full pipe): the rest is written."""
    sizes = iter([1, 3, 2] * 1000)
    real_write = os.write
    monkeypatch.setattr(reader_module.os, "write", lambda fd, data: real_write(fd, bytes(data[: next(sizes)])))
    read_end, write_end = os.pipe()
    message = {"rows": ["é" * 20, 42]}
    reader_module._write_all(write_end, pickle.dumps(message))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert pickle.load(pipe) == message and pipe.read() == b""


def test_a_reading_process_that_cannot_take_its_job_is_reaped(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int, data: bytes) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(reader_module, "_write_all", broken)
    connector = Bulky(SourceSettings(api_url="http://127.0.0.1:9"), {})
    with pytest.raises(ReaderError, match="ended before it took its job"):
        for _ in read_in_processes(connector, Bounds(), processes=2):
            pass
    assert not reading_processes(os.getpid())


def test_a_page_of_rows_crosses_the_pipe_as_rows() -> None:
    """A reading process pickles its pages with plain tuples for rows (`RowPage.__reduce__`): they come back as
    `Row`s, field for field, empty cursors and versions included."""
    cursor = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
    rows = [Row("a", cursor, '{"repo":"o/r"}', '{"id":1}', "2026-11-30"), Row("b", None, "{}", "{}", None)]
    back = pickle.loads(pickle.dumps(RowPage("commits", rows), protocol=pickle.HIGHEST_PROTOCOL))
    assert back == RowPage("commits", rows)
    assert [type(row) for row in back.rows] == [Row, Row]
    assert back.rows[0].cursor == cursor and back.rows[1].version is None
