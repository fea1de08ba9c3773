"""Crash safety: a sync killed with SIGKILL mid-page, then re-run, leaves the raw tables a clean run leaves.

The sync runs in a child process (tests/raw/sync_child.py) against the sample organisation's server, or against
each connector's loopback fake (served from this process), and kills itself inside a page's transaction after a
fixed number of pages, so the test is deterministic.
A last test kills a writer after 40 commits and reopens the warehouse: its log replays within the memory limit.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE
from typing import Any

import psutil
import pytest
import yaml
from pytest_httpserver import HTTPServer

from sample_org import Organisation, SampleServer, generate, token_environment
from tests.conftest import ROOT
from tests.connectors.fakes import FAKES, TOKEN, FakeApi, Fixture, connector_name, fake_names
from tests.raw.snapshots import raw_rows, row_counts

TOKENS = {
    "github": "gh-crash-secret",
    "pagerduty": "pd-crash-secret",
    "jira_user": "bot@example.com",
    "jira": "jira-crash-secret",
    "opsgenie": "og-crash-secret",
}
ENV = token_environment(TOKENS)
BATCH = 50  # records per transaction in the sample organisation's test


@pytest.fixture(scope="module")
def org() -> Organisation:
    # A fixed organisation, so the page a run dies in is the same every day; a seed whose 45 days fill every
    # stream (Opsgenie incidents need a P1 or P2 alert).
    return generate(n_services=2, days=45, seed=4, end=dt.date(2026, 6, 1), opsgenie_services=1)


@pytest.fixture(scope="module")
def config(org: Organisation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A catalog pointing at the served organisation, with small pages so there are many to die in."""
    with SampleServer(org, tokens=TOKENS) as server:
        catalog = yaml.safe_load(org.config_yaml(server.url))
        for settings in catalog["sources"].values():
            settings["page_size"] = 10
        # PagerDuty is read back from now: reach the organisation's start, and not two years of empty windows.
        catalog["sources"]["pagerduty"]["history_days"] = (dt.datetime.now(dt.UTC).date() - org.start).days + 1
        path = tmp_path_factory.mktemp("crash") / "opmetrics.yaml"
        path.write_text(yaml.safe_dump(catalog))
        yield path


class Run:
    """One sync in a child process; `wait()` gives its exit code, stdout and stderr."""

    def __init__(
        self,
        config: Path,
        warehouse: Path,
        kill_at_page: int | None = None,
        secrets: dict[str, str] = ENV,
        batch_records: int | None = None,
        reader_processes: int = 0,
    ) -> None:
        args = [sys.executable, "-m", "tests.raw.sync_child", str(config), str(warehouse)]
        if kill_at_page is not None:
            args.append(str(kill_at_page))
        env = {**os.environ, **secrets, "PYTHONPATH": str(ROOT), "SYNC_READER_PROCESSES": str(reader_processes)}
        if batch_records is not None:
            env["SYNC_BATCH_RECORDS"] = str(batch_records)
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE, text=True)

    def wait(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=120)
        return self.process.returncode, out, err


def sync(
    config: Path,
    warehouse: Path,
    kill_at_page: int | None = None,
    secrets: dict[str, str] = ENV,
    batch_records: int | None = None,
    reader_processes: int = 0,
) -> tuple[int, str, str]:
    return Run(config, warehouse, kill_at_page, secrets, batch_records, reader_processes).wait()


def reading_processes(parent: int) -> list[psutil.Process]:
    """The reading processes (`orchestration/raw/reader.py`) started by the process `parent`, alive or orphaned."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if "orchestration.raw.reader" in (process.info["cmdline"] or []):
            try:
                if process.environ().get("OPMETRICS_READER_PARENT") == str(parent):
                    found.append(process)
            except psutil.Error:  # ended meanwhile, or another user's
                continue
    return found


def first_page(trace: str, table: str) -> int:
    """The number of the first page of `table` in a clean run's trace (`page N: raw_x.y M records`)."""
    for line in trace.splitlines():
        number, _, rest = line.removeprefix("page ").partition(": ")
        if rest.startswith(table + " "):
            return int(number)
    raise AssertionError(f"no page of {table} in the clean run")


@pytest.mark.parametrize("readers", [0, 2], ids=["read-in-a-thread", "read-in-2-processes"])
def test_killed_sync_resumed_equals_one_clean_run(config: Path, tmp_path: Path, readers: int) -> None:
    # The kill points come from a clean run's trace, so the test follows the sample data: the first run dies in
    # the first repository's pull requests, in the transaction after the one that stored its deployments'
    # checkpoint; the resumed run re-reads from the cursors it finds and dies in PagerDuty's log entries, after
    # the other sources committed; the third run completes. Transactions of 50 records batch pages and
    # checkpoints as the default does, small enough that this organisation's few hundred records commit often.
    # Read in processes (a first sync's; a resumed sync reads in a thread), the pages arrive in the same order, so
    # the same kill points apply.
    code, out, clean_trace = sync(config, tmp_path / "clean.duckdb", batch_records=BATCH, reader_processes=readers)
    assert code == 0, clean_trace
    pages = json.loads(out)["pages"]
    first_kill = page_after_first_checkpoint(clean_trace)
    assert first_kill is not None
    second_kill = first_page(clean_trace, "raw_pagerduty.log_entries")
    assert 1 < first_kill < second_kill <= pages  # merges come in batches: the last may be the second kill point
    clean_rows = raw_rows(tmp_path / "clean.duckdb")
    assert len(clean_rows) == 12 and all(clean_rows.values()), "every stream of the four sources has rows"

    crashed = tmp_path / "crashed.duckdb"
    killed = Run(config, crashed, kill_at_page=first_kill, batch_records=BATCH, reader_processes=readers)
    code, _, first_err = killed.wait()
    assert code == -signal.SIGKILL, first_err
    _, alive = psutil.wait_procs(reading_processes(killed.process.pid), timeout=10)
    assert not alive, "the killed sync's reading processes died with it"
    assert f"page {first_kill}: raw_github.pull_requests" in first_err
    partial = row_counts(crashed)  # opening the file rolls the page that was in flight back
    assert 0 < sum(partial.values()) < sum(map(len, clean_rows.values()))

    code, _, second_err = sync(config, crashed, kill_at_page=second_kill, batch_records=BATCH, reader_processes=readers)
    assert code == -signal.SIGKILL, second_err
    assert f"page {second_kill}: raw_pagerduty.log_entries" in second_err
    assert row_counts(crashed) != partial, "the second run made progress before it died"
    code, _, third_err = sync(config, crashed, batch_records=BATCH, reader_processes=readers)
    assert code == 0, third_err

    assert raw_rows(crashed) == clean_rows
    for secret in TOKENS.values():
        assert secret not in first_err + second_err + third_err


FAKE_SECRETS = {"CONTRACT_TOKEN": TOKEN, "CONTRACT_USER": "bot@example.com"}


def page_after_first_checkpoint(trace: str) -> int | None:
    """The number of the first page after the first stored checkpoint in a clean run's trace, if any."""
    lines = trace.splitlines()
    first = next((n for n, line in enumerate(lines) if line.startswith("checkpoint: ")), len(lines))
    later = [line for line in lines[first:] if line.startswith("page ")]
    return int(later[0].removeprefix("page ").partition(":")[0]) if later else None


def fake_catalog(name: str, fixture: Fixture) -> dict[str, Any]:
    """A catalog of one source, the fake's, with its services."""
    services = [
        {
            "name": service,
            "team": "shop",
            "availability_target": 99.9,
            "operating_model": [{"model": "you_build_it_you_run_it", "from": "2025-01-01"}],
            name: mapping,
        }
        for service, mapping in fixture.mappings.items()
    ]
    return {"sources": {name: fixture.settings}, "services": services}


@pytest.mark.parametrize("name", fake_names())
def test_every_connector_killed_mid_page_resumes_to_one_clean_run(
    name: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Each connector against its fake: killed inside the transaction of a page of a clean run's trace (the first
    after a checkpoint, so the next run resumes from a stored cursor; else the middle one), then run again."""
    fixture = FAKES[name](FakeApi(httpserver))
    config = tmp_path / "opmetrics.yaml"
    config.write_text(yaml.safe_dump(fake_catalog(connector_name(name), fixture)))

    # Every page its own transaction: the most places to die in (the sample-organisation test keeps the batching).
    code, out, clean_trace = sync(config, tmp_path / "clean.duckdb", secrets=FAKE_SECRETS, batch_records=1)
    assert code == 0, clean_trace
    pages = json.loads(out)["pages"]
    assert pages >= 3, "the fake serves several pages"
    kill_at = page_after_first_checkpoint(clean_trace) or pages // 2 + 1
    clean_rows = raw_rows(tmp_path / "clean.duckdb")
    assert sum(map(len, clean_rows.values())) == sum(fixture.expected.values())

    crashed = tmp_path / "crashed.duckdb"
    code, _, killed_err = sync(config, crashed, kill_at_page=kill_at, secrets=FAKE_SECRETS, batch_records=1)
    assert code == -signal.SIGKILL, killed_err
    assert killed_err.rstrip().splitlines()[-1].startswith(f"page {kill_at}: "), "died inside that page"
    partial = sum(row_counts(crashed).values())  # opening the file rolls the page that was in flight back
    assert 0 < partial < sum(map(len, clean_rows.values()))
    code, _, resumed_err = sync(config, crashed, secrets=FAKE_SECRETS, batch_records=1)
    assert code == 0, resumed_err

    assert raw_rows(crashed) == clean_rows
    for secret in FAKE_SECRETS.values():
        assert secret not in out + clean_trace + killed_err + resumed_err


_KILLED_SYNC = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from connectors.base import Record
from orchestration.warehouse import connect, ensure_raw_table, merge_records
with connect(Path(sys.argv[1])) as con:
    table = ensure_raw_table(con, "demo", "items")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for batch in range(40):
        records = [Record(f"{batch}-{i}", at, {}, {"m": "x" * 1_500}) for i in range(5_000)]
        con.begin()
        merge_records(con, table, records, "s1")
        con.commit()
    os.kill(os.getpid(), signal.SIGKILL)  # killed mid-sync: the commits are in the log only
"""

_REOPEN = """
import resource, sys
from pathlib import Path
from orchestration.warehouse import connect
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with connect(Path(sys.argv[1])) as con:
    rows = con.execute("select count(*) from raw_demo.items").fetchone()[0]
print(rows, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_reopening_after_a_killed_sync_replays_its_log_within_the_memory_limit(tmp_path: Path) -> None:
    """A killed sync leaves its commits in the log (up to CHECKPOINT_THRESHOLD); the next open replays them. The
    memory limit is given when connecting, so the replay keeps to it instead of DuckDB's 80% of the machine."""
    path = tmp_path / "w.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPMETRICS_MEMORY_LIMIT": "64MB"}
    killed = subprocess.run([sys.executable, "-c", _KILLED_SYNC, str(path)], env=env, cwd=ROOT, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    log_mib = (tmp_path / "w.duckdb.wal").stat().st_size // 2**20
    assert log_mib > 250
    reopened = subprocess.run([sys.executable, "-c", _REOPEN, str(path)], env=env, cwd=ROOT, capture_output=True)
    assert reopened.returncode == 0, reopened.stderr.decode()[-2000:]
    rows, grew_mib = map(int, reopened.stdout.split())
    assert rows == 200_000  # every committed batch, nothing lost
    assert grew_mib < log_mib / 2, f"replaying {log_mib} MiB of log grew the process by {grew_mib} MiB"
