"""A run reads its daily syncs ahead, while it writes them one source after another.

The daily job runs its steps one after another in one process (one DuckDB writer, `orchestration/jobs.py`), and a
sync resuming from its cursors mostly waits on its API: read one source after another, the run would wait for
each API in turn. So the run's first sync step opens the reads of the run's syncs that resume from stored cursors,
up to OPMETRICS_SOURCES_AHEAD at a time (default 4; 0 turns this off), each in a thread of its own and up to
`BYTES_AHEAD` of pages ahead of its writer; each source's step then writes what its read brought, in the order the
connector yielded it, and opens the next source's read. What lands, and when each cursor is stored, stay the same:
a step uses its early read only if it began where the step's own sync would (`sync_source`), and a read's failure
is raised in its own source's step. A backfill (a first sync, a full refresh, `--since`) is not read early: it
reads in processes of its own (`orchestration/raw/reader.py`) during its step.

Why 4: with `benchmarks/incremental.py --every-source --services 100 --days 730`, the second sync of every source
took 5.4-5.8 s one source after another with answers 50 ms late, and 2.97 s with 2 reads open at once, 2.42 s with
3, 2.17 s with 4, 2.38 s with all 7; on loopback with no delay (0.9-1.1 s one after another), all 7 at once cost
0.6 s more (the reads' threads and the server's contend for the two cores), 4 about 0.07 s.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import duckdb

from connectors.base import Connector
from orchestration.raw.reader import env_count
from orchestration.raw.sync import OpenRead, ReadPlan, SyncOptions, open_read, plan_read

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


class RunPrefetch:
    """The early reads of one run, by source; each is taken once, by its source's step.

    At most `at_once` reads are open at a time (not counting those taken): when a step takes its read, the next
    source's opens, in the order the sources were given.
    """

    def __init__(self, bytes_ahead: int = BYTES_AHEAD, at_once: int = SOURCES_AT_ONCE) -> None:
        self._bytes_ahead = bytes_ahead
        self._at_once = at_once
        self._pending: dict[str, tuple[Connector, ReadPlan]] = {}
        self._reads: dict[str, tuple[Connector, OpenRead]] = {}
        self._started = False

    @property
    def started(self) -> bool:
        """Whether `start` has been called: a run plans its early reads once."""
        return self._started

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
            self._reads[source] = (connector, open_read(connector, plan, self._bytes_ahead))

    def take(
        self, source: str, con: duckdb.DuckDBPyConnection, options: SyncOptions
    ) -> tuple[Connector, OpenRead] | None:
        """The connector of `source` and its open read, if one was planned and begins where a sync with `options`
        would; its step owns them from here. A read that begins elsewhere is stopped (None)."""
        if source in self._pending:  # a step out of the expected order: its read opens now
            connector, plan = self._pending.pop(source)
            taken = (connector, open_read(connector, plan, self._bytes_ahead))
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
