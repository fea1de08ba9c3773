"""Run one connector into the warehouse: pages merged in transactions of about 20,000 records, each cursor saved
in the transaction of the pages before it (or a later one), never before them.

The connector reads in processes of its own (`orchestration/raw/reader.py`), or with `reader_processes=0` in a
thread of this one, while this thread writes: reading and DuckDB's inserts overlap. Bounded queues between them
keep memory flat, whatever the history's size.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from connectors.base import Bookmark, Checkpoint, Connector, SyncEvent
from connectors.prefetch import ReadAhead
from orchestration.raw.reader import Bounds, ReadingProcess, read_in_processes
from orchestration.raw.rows import Row, RowPage, as_rows
from orchestration.warehouse import (
    WrittenKeys,
    ensure_raw_table,
    ensure_state_table,
    load_cursors,
    merge_rows,
    save_cursors,
)

log = logging.getLogger("orchestration.sync")

# Pages are merged in transactions of about this many records: few enough to keep memory flat, many enough that the
# per-transaction cost does not dominate a backfill of millions of records. GitHub's first sync alone, two reading
# processes, 5,000 -> 20,000: at 300 services its merges 11.1-12.9 -> 7.1-8.7 s (the sync's time the same: the
# reading bounds it there), 18 MiB more at the process's peak; at 1,000 its merges 44.8 -> 34.7 s.
BATCH_RECORDS = 20_000


@dataclass(frozen=True)
class SyncOptions:
    """`full_refresh` ignores stored cursors; `since` re-reads from a date (a backfill). Both keep existing rows."""

    full_refresh: bool = False
    since: date | None = None
    batch_records: int = BATCH_RECORDS  # records per transaction (1: every page its own)
    # Processes a backfill reads in (`orchestration/raw/reader.py`); 0: a thread of the sync's process, as does a
    # sync that resumes from stored cursors. The run takes OPMETRICS_READER_PROCESSES; here 0, so a test's patches
    # of a connector apply.
    reader_processes: int = 0


@dataclass(frozen=True)
class ReadPlan:
    """Where a sync reads from (`bounds`), and in how many processes (0: a thread of the sync's process)."""

    bounds: Bounds
    processes: int
    backfill: bool  # a first sync, a full refresh or `--since`: not one resuming from its stored cursors


def plan_read(con: duckdb.DuckDBPyConnection, connector: Connector, options: SyncOptions) -> ReadPlan:
    """How `connector` reads into this warehouse: from its stored cursors minus the lookback, or a backfill."""
    ensure_state_table(con)
    stored = load_cursors(con, connector.name)
    bounds = Bounds(
        cursors={} if options.full_refresh else stored,
        lookback=timedelta(days=connector.settings.lookback_days),
        since=options.since,
    )
    # Reading processes pay for starting (about half a second each, most of a daily sync's time for most sources)
    # on a backfill: a first sync, a full refresh, `--since`. A sync resuming from stored cursors reads in a thread,
    # unless a run reads it early (`open_read`'s `in_process`: its process starts while the run loads).
    backfill = options.full_refresh or options.since is not None or not stored
    return ReadPlan(bounds, options.reader_processes if backfill else 0, backfill)


def _page_bytes(event: RowPage | SyncEvent) -> int:
    """What a page read ahead holds, about: its rows' JSON text (a checkpoint counts as one byte)."""
    return sum(len(row.payload) + len(row.context) for row in event.rows) if isinstance(event, RowPage) else 1


@dataclass
class OpenRead:
    """A connector's read, started: its events arrive in the order the connector yields them."""

    plan: ReadPlan
    events: Iterator[RowPage | SyncEvent]
    stop: Callable[[], None] | None = None  # ends a reading thread even before its first event was taken

    def close(self) -> None:
        """Stop reading: the reading thread or processes end."""
        if self.stop is not None:  # first: it may end a process the events' thread waits on
            self.stop()
        close = getattr(self.events, "close", None)
        if close is not None:
            close()


def open_read(
    connector: Connector, plan: ReadPlan, bytes_ahead: int | None = None, in_process: bool = False
) -> OpenRead:
    """Start reading `connector` as `plan` says: in processes of its own, or in a thread, up to 8 events ahead of
    the writer or, with `bytes_ahead`, up to that many bytes of pages (a run reading its next sources early).

    `in_process`: a read the plan puts in a thread reads in one process of its own instead, a thread of this one
    taking its pages up to `bytes_ahead` (a run's early reads: `orchestration/raw/prefetch.py` says why).
    """
    if plan.processes:
        return OpenRead(plan, read_in_processes(connector, plan.bounds, plan.processes))

    def read_here() -> Iterator[RowPage | SyncEvent]:
        return as_rows(connector, connector.sync(plan.bounds))

    processes: list[ReadingProcess] = []

    def read_in_a_process() -> Iterator[RowPage | SyncEvent]:
        # Opened before the run sets its log level: the process logs INFO, and what the run takes is logged. A read
        # stopped early ends its process: `ReadAhead` closes this generator, whose cleanup stops the process.
        level = min(logging.getLogger("connectors").getEffectiveLevel(), logging.INFO)
        return read_in_processes(connector, plan.bounds, 1, level, processes.append)

    reading = ReadAhead(
        read_in_a_process if in_process else read_here,
        depth=bytes_ahead or 8,
        name=f"{connector.name}-reader",
        weigh=_page_bytes if bytes_ahead else None,
    )

    def stop() -> None:
        for process in processes:  # the thread may be waiting for its next message: it gets an error at once
            process.kill()
        reading.close()

    return OpenRead(plan, iter(reading), stop)


def sync_source(
    con: duckdb.DuckDBPyConnection,
    connector: Connector,
    options: SyncOptions,
    sync_id: str,
    started: OpenRead | None = None,
) -> Counter[str]:
    """Read every stream of `connector` into its raw tables; returns records merged per stream.

    `started` is a read of this connector opened earlier (`orchestration/raw/prefetch.py`), which must begin where
    this sync does; it is stopped however the sync ends.
    """
    source = connector.name
    try:
        # Into a table empty at the start only this sync writes: its merges need not search the table for its keys.
        written: dict[str, WrittenKeys] = {}
        for stream in connector.streams:
            table = ensure_raw_table(con, source, stream.name)
            if con.execute(f"select not exists (select 1 from {table})").fetchall() == [(True,)]:
                written[stream.name] = WrittenKeys()
        plan = plan_read(con, connector, options)
        if started is not None and started.plan != plan:
            raise ValueError(f"{source}: a read opened early must begin where the sync does")
    except BaseException:
        if started is not None:
            started.close()
        raise

    merged: Counter[str] = Counter()
    batch: dict[str, list[Row]] = {}
    checkpoints: dict[tuple[str, str], Bookmark] = {}  # reached since the last commit, the furthest of each

    def commit_batch() -> None:
        """Merge the pages read since the last commit, and store the cursors reached after them, in one transaction.

        DuckDB's cost is per transaction: a transaction per checkpoint (three per repository) made a first sync
        slow, and when the tables had a primary-key index, quadratic in the history. A cursor
        shares the transaction of the pages before it, so a crash re-reads, never skips.
        """
        if not batch and not checkpoints:
            return
        con.begin()
        try:
            for stream_name, rows in batch.items():
                table, version = f"raw_{source}.{stream_name}", connector.stream(stream_name).version_path
                merged[stream_name] += merge_rows(con, table, rows, sync_id, version, written.get(stream_name))
            save_cursors(con, source, checkpoints, sync_id)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        batch.clear()
        checkpoints.clear()

    with fewer_collections():
        read = started or open_read(connector, plan)
        with closing(read):  # a failed write stops the readers at once
            for event in read.events:
                if isinstance(event, RowPage):
                    batch.setdefault(event.stream, []).extend(event.rows)
                    if sum(map(len, batch.values())) >= options.batch_records:
                        commit_batch()
                elif isinstance(event, Checkpoint):
                    key = (event.stream, event.partition)
                    previous = checkpoints.get(key)
                    checkpoints[key] = event.cursor if previous is None else max(previous, event.cursor)
        commit_batch()
    # What the sync committed goes into the file's blocks now rather than when the warehouse closes after the raw
    # checks: the same work either way (a first sync's biggest write), but logged as the sync's.
    checkpoint_started = time.perf_counter()
    try:
        con.execute("checkpoint")
    except duckdb.Error as exc:  # everything is committed and in the log: the close checkpoints instead
        log.warning("%s: checkpoint after the sync failed (%s); the warehouse's close will write it", source, exc)
    log.info(
        "%s: merged %s (%d requests); checkpointed in %.1fs",
        source,
        dict(merged),
        connector.client.requests_made,
        time.perf_counter() - checkpoint_started,
    )
    return merged


# Young objects a garbage collection waits for during a sync (Python's default: 700).
SYNC_GC_THRESHOLD = 10_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector tuned for a sync, and put back after it.

    A first sync makes millions of containers (parsed JSON, records) that live a page or a batch. With Python's
    defaults a young collection runs every 700 of them and a full one, which walks every object the process holds
    (Dagster's, dbt's manifest), up to every hundred: 4-5 of the 30-31 s of CPU of GitHub's first sync at 100
    services (measured with the collector off). During the sync the objects alive before it are frozen (a full
    collection skips them) and young collections wait for 10,000 new objects. Cycles are still collected; freed
    objects are freed as always, by their reference count.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(SYNC_GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
