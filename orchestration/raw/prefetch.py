"""A run reads its daily syncs ahead, while it writes them one source after another.

The daily job runs its steps one after another in one process (one DuckDB writer, `orchestration/jobs.py`), and a
sync resuming from its cursors mostly waits on its API: read one source after another, the run would wait for
each API in turn. So the run's first sync step opens the reads of the run's syncs that resume from stored cursors,
up to OPMETRICS_SOURCES_AHEAD at a time (default 4; 0 turns this off), each on its own (below) and up to
`BYTES_AHEAD` of pages ahead of its writer; each source's step then writes what its read brought, in the order the
connector yielded it, and opens the next source's read. What lands, and when each cursor is stored, stay the same:
a step uses its early read only if it began where the step's own sync would (`sync_source`), and a read's failure
is raised in its own source's step. A backfill (a first sync, a full refresh, `--since`) is not read early: it
reads in processes of its own (`orchestration/raw/reader.py`) during its step.

`opmetrics run` opens the reads earlier still, before it loads Dagster and the definitions (`read_before_run`):
those seconds of imports and planning are seconds the APIs answer in. The run's resource adopts them, and each step
takes its read as above, so what lands is the same.

Each early read runs in a reading process of its own (`orchestration/raw/reader.py`; in a thread of the run's
process with OPMETRICS_READER_PROCESSES=0), and a thread of the run's process takes its pages as they come, up to
`BYTES_AHEAD`: a daily read does not wait on its pipe for its step to begin. Read in threads, the reads' parsing
held Python's GIL against the imports and the steps' writes. In the 1,000-service run after one more day
(`benchmarks/one_more_day.py --repeats 3 --variant base --variant procs:PYTHONPATH=<this code>`, alternating on one
base), the time before the run's first event was 7.7-8.8 s with the reads in threads and 5.7-6.3 s in processes; the
runs took 31.1-35.7 s (median 32.0) against 29.0-31.8 s (median 29.1), the syncs the same (2.9-3.5 s). With no early
reads (OPMETRICS_SOURCES_AHEAD=0) on loopback: 3.5-3.8 s before the first event, 5.4-5.7 s of syncs, about the same
runs. A reading process starts in about half a second: `opmetrics run` opens its reads before its imports, which
take longer; a run started from Dagster opens them at its first sync step, and a step out of order opens its own
there (not measured). Its log records are logged in the run's process at the level the run has set when they arrive
(the process, opened before the run sets it, logs INFO); stopping a read kills its process at once.

Why 4: with `benchmarks/incremental.py --every-source --services 100 --days 730`, the second sync of every source
took 5.4-5.8 s one source after another with answers 50 ms late, and 2.97 s with 2 reads open at once, 2.42 s with
3, 2.17 s with 4, 2.38 s with all 7; on loopback with no delay (0.9-1.1 s one after another), all 7 at once cost
0.6 s more (the reads' threads and the server's contend for the two cores), 4 about 0.07 s.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import duckdb

from connectors.base import Connector
from connectors.registry import CONNECTORS
from orchestration.config import Catalog
from orchestration.raw.reader import env_count, reader_processes
from orchestration.raw.sync import OpenRead, ReadPlan, SyncOptions, open_read, plan_read
from orchestration.warehouse import connect

log = logging.getLogger("orchestration.prefetch")

# Pages a source's early read may hold before its step takes them, counted as their JSON text (not the connector's
# own few pages ahead per partition, nor Python's overhead per object). In the 1,000-service benchmark's run after
# one more day, the largest daily sync, GitHub's 18,875 records, held 13 MB; GitLab's 3,295 held 3.7 MB.
BYTES_AHEAD = 16 * 1024 * 1024
# Early reads open at a time, by default (the module's docstring says why 4).
SOURCES_AT_ONCE = 4


def sources_ahead() -> int:
    """How many sources a run reads early at once (OPMETRICS_SOURCES_AHEAD); 0: each reads in its own step."""
    return env_count("OPMETRICS_SOURCES_AHEAD", SOURCES_AT_ONCE)


def early_reads_in_processes() -> bool:
    """Whether a run's early reads read in processes of their own: unless OPMETRICS_READER_PROCESSES is 0."""
    return reader_processes() > 0


class RunPrefetch:
    """The early reads of one run, by source; each is taken once, by its source's step.

    At most `at_once` reads are open at a time (not counting those taken): when a step takes its read, the next
    source's opens, in the order the sources were given. With `in_process`, each reads in a process of its own
    (the run's: `early_reads_in_processes`), else in a thread of this one.
    """

    def __init__(
        self, bytes_ahead: int = BYTES_AHEAD, at_once: int = SOURCES_AT_ONCE, in_process: bool = False
    ) -> None:
        self._bytes_ahead = bytes_ahead
        self._at_once = at_once
        self._in_process = in_process
        self._pending: dict[str, tuple[Connector, ReadPlan]] = {}
        self._reads: dict[str, tuple[Connector, OpenRead]] = {}
        self._started = False

    @property
    def started(self) -> bool:
        """Whether `start` has been called: a run plans its early reads once."""
        return self._started

    @property
    def open_sources(self) -> list[str]:
        """The sources whose early read is open and not yet taken."""
        return list(self._reads)

    def start(self, con: duckdb.DuckDBPyConnection, connectors: Mapping[str, Connector]) -> None:
        """Plan the read of each of `connectors` that resumes from stored cursors, and open the first `at_once`;
        only the first call does anything."""
        if self._started:
            return
        self._started = True
        for source, connector in connectors.items():
            plan = plan_read(con, connector, SyncOptions())
            if not plan.backfill:
                self._pending[source] = (connector, plan)
        self._open_more()

    def _open_more(self) -> None:
        while self._pending and len(self._reads) < self._at_once:
            source = next(iter(self._pending))
            connector, plan = self._pending.pop(source)
            self._reads[source] = (connector, self._open(connector, plan))

    def _open(self, connector: Connector, plan: ReadPlan) -> OpenRead:
        return open_read(connector, plan, self._bytes_ahead, in_process=self._in_process)

    def take(
        self, source: str, con: duckdb.DuckDBPyConnection, options: SyncOptions
    ) -> tuple[Connector, OpenRead] | None:
        """The connector of `source` and its open read, if one was planned and begins where a sync with `options`
        would; its step owns them from here. A read that begins elsewhere is stopped (None)."""
        if source in self._pending:  # a step out of the expected order: its read opens now
            connector, plan = self._pending.pop(source)
            taken = (connector, self._open(connector, plan))
        else:
            taken = self._reads.pop(source, None)
            self._open_more()
        if taken is None:
            return None
        if taken[1].plan != plan_read(con, taken[0], options):
            log.warning("%s: its early read began elsewhere than its sync does; it reads again", source)
            taken[1].close()
            return None
        return taken

    def close(self) -> None:
        """Stop every read no step took (a run that ended early)."""
        self._pending.clear()
        reads, self._reads = self._reads, {}
        for _, read in reads.values():
            read.close()


def daily_syncs(catalog: Catalog, ops: Mapping[str, Any], steps: Collection[str] | None = None) -> dict[str, Connector]:
    """The configured sources a run syncs from their stored cursors, in the order of their steps (by name): those
    whose step is in `steps` (None: every step) and whose run config (`ops`, the run config's `ops`) asks for
    neither `full_refresh` nor `since`."""
    syncs = {}
    for source in sorted(CONNECTORS):
        step = f"sync_{source}"
        config = ops.get(step, {}).get("config", {})
        in_run = (steps is None or step in steps) and source in catalog.sources
        if in_run and not config.get("full_refresh") and not config.get("since"):
            syncs[source] = catalog.connector(source)
    return syncs


# Reads a process opened before it loaded its run, by the catalog file they were planned from, until the run's
# resource adopts them.
_opened_before_run: dict[Path, RunPrefetch] = {}


def read_before_run(config_file: Path, catalog: Catalog, warehouse: Path, ops: Mapping[str, Any]) -> bool:
    """Open the early reads of the run this process is about to start, before it loads Dagster; True if any opened.

    Nothing opens with OPMETRICS_SOURCES_AHEAD=0, nor before a first run (no warehouse yet: every sync is a
    backfill). A failure here (a warehouse another process holds, say) only costs the head start: the run's steps
    meet it again and report it where it belongs. Reads no run adopts are stopped by `close_reads_before_run`.
    The run's steps use the connectors built here, from the catalog as it was read before the run (as a run that
    opens its reads at its first sync step uses that step's): an edit of the file in between reaches the next run.
    """
    at_once = sources_ahead()
    if not at_once or not warehouse.exists():
        return False
    close_reads_before_run()
    prefetch = RunPrefetch(at_once=at_once, in_process=early_reads_in_processes())
    try:
        with connect(warehouse) as con:
            prefetch.start(con, daily_syncs(catalog, ops))
    except Exception as exc:
        prefetch.close()
        log.warning("the run's sources are not read before it starts: %s", exc)
        return False
    _opened_before_run[config_file.resolve()] = prefetch
    return bool(prefetch.open_sources)


def adopt_reads_before_run(config_file: str | Path) -> RunPrefetch | None:
    """The reads `read_before_run` opened for a run of `config_file`, once: the run that adopts them owns them."""
    return _opened_before_run.pop(Path(config_file).resolve(), None)


def close_reads_before_run() -> None:
    """Stop the reads opened before a run that did not adopt them (it failed before its resources were set up)."""
    while _opened_before_run:
        _opened_before_run.popitem()[1].close()
