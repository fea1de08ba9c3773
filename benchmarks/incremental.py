"""Measure a first (full) and a second (incremental) sync of the sample organisation. Not a test: a script.

    .venv/bin/python -m benchmarks.incremental [--services 20] [--days 365]

The organisation is served from a child process (so server and sync each get a core), ends today, and is
synced source by source with `sync_source` into a fresh DuckDB file, twice. Prints, per source, the time,
requests, rows merged and rows in the raw tables after each sync.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import yaml

from connectors.registry import CONNECTORS
from orchestration.config import Catalog, parse_catalog
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
            mappings = {s.name: s.sources[name] for s in catalog.services if name in s.sources}
            connector = CONNECTORS[name](catalog.sources[name], mappings)
            started = time.perf_counter()
            merged = sync_source(con, connector, SyncOptions(), sync_id)
            results[name] = (time.perf_counter() - started, connector.client.requests_made, sum(merged.values()))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tokens = sample_tokens()
    os.environ.update(token_environment(tokens))
    today = dt.datetime.now(dt.UTC).date()
    with (
        serve_in_subprocess(args.services, args.days, args.seed, today, tokens=tokens) as (_, catalog_yaml),
        tempfile.TemporaryDirectory() as tmp,
    ):
        catalog = parse_catalog(yaml.safe_load(catalog_yaml))
        db = Path(tmp) / "warehouse.duckdb"
        first = sync_all(catalog, db, "first")
        rows_after_first = {t: len(r) for t, r in raw_rows(db).items()}
        second = sync_all(catalog, db, "second")
        rows_after_second = {t: len(r) for t, r in raw_rows(db).items()}

    print(f"sample organisation: {args.services} services x {args.days} days, ending {today}")
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


if __name__ == "__main__":
    main()
