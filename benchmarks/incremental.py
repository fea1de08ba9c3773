"""Measure a first (full) and a second (incremental) sync of the sample organisation. Not a test: a script.

    .venv/bin/python -m benchmarks.incremental [--services 20] [--days 365] [--latency-ms 0] [--every-source]

The organisation is served from a child process (so server and sync each get a core), ends today, and is
synced source by source with `sync_source` into a fresh DuckDB file, twice. Prints, per source, the time,
requests, rows merged and rows in the raw tables after each sync. The second sync is then made again on a copy
of the warehouse after the first, with every source's read opened at once as a run does
(`orchestration/raw/prefetch.py`), and the two compared. `--latency-ms` delays every answer of the server, as an
API across a network does (the first sync waits for it too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from orchestration.config import Catalog, parse_catalog
from orchestration.raw.prefetch import SOURCES_AT_ONCE, RunPrefetch
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect
from sample_org import sample_tokens, token_environment
from sample_org.process import serve_in_subprocess
from tests.raw.snapshots import raw_rows


def sync_all(catalog: Catalog, db: Path, sync_id: str) -> dict[str, tuple[float, int, int]]:
    """Per source: (seconds, requests, records merged)."""
    results = {}
    with connect(db) as con:
        for name in sorted(catalog.sources):
            connector = catalog.connector(name)
            started = time.perf_counter()
            merged = sync_source(con, connector, SyncOptions(), sync_id)
            results[name] = (time.perf_counter() - started, connector.client.requests_made, sum(merged.values()))
    return results


def sync_early(catalog: Catalog, db: Path, sync_id: str, at_once: int) -> float:
    """Every source synced with all their reads opened at once, as a run's steps do; returns the seconds taken."""
    started = time.perf_counter()
    with connect(db) as con:
        prefetch = RunPrefetch(at_once=at_once)
        connectors = {name: catalog.connector(name) for name in sorted(catalog.sources)}
        prefetch.start(con, connectors)
        try:
            for name, connector in connectors.items():
                connector, read = prefetch.take(name, con, SyncOptions()) or (connector, None)
                sync_source(con, connector, SyncOptions(), sync_id, read)
        finally:
            prefetch.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer of the server")
    parser.add_argument("--repeats", type=int, default=3, help="second syncs each way, alternating")
    parser.add_argument("--sources-at-once", type=int, default=SOURCES_AT_ONCE, help="early reads open at a time")
    parser.add_argument(
        "--every-source",
        action="store_true",
        help="the demo's organisation: every registered source (GitLab, GitHub Actions, Jenkins, Opsgenie too)",
    )
    args = parser.parse_args()
    tokens = sample_tokens()
    os.environ.update(token_environment(tokens))
    today = dt.datetime.now(dt.UTC).date()
    with (
        serve_in_subprocess(
            args.services,
            args.days,
            args.seed,
            today,
            tokens=tokens,
            options={"source_mix": True, "opsgenie_services": args.services // 6} if args.every_source else None,
            latency=args.latency_ms / 1000,
        ) as (_, catalog_yaml),
        tempfile.TemporaryDirectory() as tmp,
    ):
        catalog = parse_catalog(yaml.safe_load(catalog_yaml))
        db = Path(tmp) / "warehouse.duckdb"
        first = sync_all(catalog, db, "first")
        rows_after_first = {t: len(r) for t, r in raw_rows(db).items()}
        after_first, early_db = Path(tmp) / "after_first.duckdb", Path(tmp) / "early.duckdb"
        shutil.copy(db, after_first)
        second = sync_all(catalog, db, "second")
        rows_after_second = raw_rows(db)
        # The second sync again, from copies of the warehouse after the first: one source after another, then with
        # the reads opened at once, alternating, so a slower moment of the machine weighs on both alike.
        serial_s, early_s, same_rows = [], [], True
        for _ in range(args.repeats):
            shutil.copy(after_first, early_db)
            serial_s.append(sum(seconds for seconds, _, _ in sync_all(catalog, early_db, "second").values()))
            shutil.copy(after_first, early_db)
            early_s.append(sync_early(catalog, early_db, "second", args.sources_at_once))
            same_rows = same_rows and raw_rows(early_db) == rows_after_second
        rows_after_second = {t: len(r) for t, r in rows_after_second.items()}

    print(
        f"sample organisation: {args.services} services x {args.days} days, ending {today},"
        f" answers {args.latency_ms:g} ms late"
    )
    print(
        f"{'source':<10} {'first s':>8} {'requests':>9} {'merged':>7}   {'second s':>8} {'requests':>9} {'merged':>7}"
    )
    for name in sorted(first):
        (t1, q1, m1), (t2, q2, m2) = first[name], second[name]
        print(f"{name:<10} {t1:>8.2f} {q1:>9} {m1:>7}   {t2:>8.2f} {q2:>9} {m2:>7}")
    total1, total2 = (sum(r[0] for r in run.values()) for run in (first, second))
    print(f"{'total':<10} {total1:>8.2f} {'':>9} {'':>7}   {total2:>8.2f}")
    unchanged = rows_after_first == rows_after_second
    print(f"raw rows after the first sync: {sum(rows_after_first.values())}; after the second: "
          f"{sum(rows_after_second.values())} ({'no row added' if unchanged else 'ROWS CHANGED'})")  # fmt: skip
    print(f"second sync of every source, {args.repeats} times each, median (min-max): one source after another"
          f" {statistics.median(serial_s):.2f} s ({min(serial_s):.2f}-{max(serial_s):.2f}); up to"
          f" {args.sources_at_once} sources read at once, as a run does: {statistics.median(early_s):.2f} s"
          f" ({min(early_s):.2f}-{max(early_s):.2f}); {'the same rows' if same_rows else 'ROWS DIFFER'}")  # fmt: skip


if __name__ == "__main__":
    main()
