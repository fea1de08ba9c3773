"""Peak memory and time of a first sync as history grows: memory must stay flat. Not a test: a benchmark.

    .venv/bin/python -m benchmarks.memory [--services 10] [--days 90 180 360 720]

Each size syncs in a fresh child process (so its peak RSS is its own) against the sample organisation served
from another process. Pages stream through a bounded queue into DuckDB, so the peak should not grow with days.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from orchestration.config import parse_catalog
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect
from sample_org import sample_tokens, token_environment
from sample_org.process import serve_in_subprocess

TOKENS = sample_tokens()
ENV = token_environment(TOKENS)


def child(config: Path, warehouse: Path) -> None:
    """Sync every source once; print seconds, records and peak RSS (MiB) as JSON."""
    catalog = parse_catalog(yaml.safe_load(config.read_text()))
    started = time.perf_counter()
    records = 0
    with connect(warehouse) as con:
        for name in sorted(catalog.sources):
            records += sum(sync_source(con, catalog.connector(name), SyncOptions(), "b").values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - started, "records": records, "peak_mib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--days", type=int, nargs="+", default=[90, 180, 360, 720])
    args = parser.parse_args()
    os.environ.update(ENV)
    end = dt.datetime.now(dt.UTC).date()
    print(f"{'days':>5} {'records':>8} {'seconds':>8} {'peak RSS MiB':>13}")
    for days in args.days:
        with (
            tempfile.TemporaryDirectory() as tmp,
            serve_in_subprocess(args.services, days, 7, end, 0, TOKENS, {"opsgenie_services": args.services // 6}) as (
                _,
                catalog_yaml,
            ),
        ):
            config = Path(tmp) / "opmetrics.yaml"
            config.write_text(catalog_yaml)
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.memory", "--child", str(config), str(Path(tmp) / "w.duckdb")],
                capture_output=True, text=True, check=True, env={**os.environ, **ENV},
            )  # fmt: skip
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{days:>5} {result['records']:>8} {result['seconds']:>8.1f} {result['peak_mib']:>13.0f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
