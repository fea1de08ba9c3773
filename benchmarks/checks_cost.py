"""What the data-quality checks cost: the daily job on the sample organisation with and without them.

    .venv/bin/python -m benchmarks.checks_cost [--services 20] [--days 365] [--rounds 3] [--steps]

"Without" runs the same assets with no asset check at all (`run_daily(checks=False)`): no raw checks, no dbt data
tests, no Great Expectations suites, and none of Dagster's own work per check. The two variants alternate, each on
a fresh warehouse at the same path, as `make demo` runs it (so dbt re-uses its partial parse, as in the demo). The
time is `run_daily`'s, from creating the run (Dagster then logs a planned event per check) to the printed
summary; the sample organisation's generation and Python's start-up, shared by both, are left out, which makes
the share larger, not smaller.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from dagster import DagsterInstance

from orchestration.cli import run_daily, serve_sample
from orchestration.dbt.project import manifest_is_current


def run_once(workdir: Path, services: int, days: int, checks: bool, show_steps: bool) -> float:
    """Seconds the daily run took on a fresh warehouse in `workdir` (the same path every time).

    Called in a fresh interpreter each time, as `opmetrics demo` is: nothing (Great Expectations above all) is
    imported yet but the definitions, which the demo loads while the sample organisation is generated.
    """
    if manifest_is_current():  # otherwise `run_daily` parses the project first, then loads the definitions
        from orchestration.definitions import build_definitions

        build_definitions(checks)
    for stale in workdir.glob("warehouse.duckdb*"):
        stale.unlink()
    home = workdir / "dagster_home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    os.environ["DAGSTER_HOME"] = str(home)
    end = dt.datetime.now(dt.UTC).date()
    os.environ["OPMETRICS_AS_OF"] = end.isoformat()
    with serve_sample(services, days, 7, end, config_dir=workdir) as config:
        os.environ["OPMETRICS_CONFIG"] = str(config)
        started = time.perf_counter()
        assert run_daily(checks=checks), "the daily run failed"
        elapsed = time.perf_counter() - started
    if show_steps:
        with DagsterInstance.get() as instance:
            run_id = instance.get_runs(limit=1)[0].run_id
            for step in sorted(instance.get_run_step_stats(run_id), key=lambda s: s.start_time or 0):
                print(f"  {step.end_time - step.start_time:6.2f}s {step.step_key}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", action="store_true", help="print each run's step times")
    args = parser.parse_args()
    times: dict[bool, list[float]] = {True: [], False: []}
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for checks in (True, False):
                with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as fresh:
                    run = fresh.submit(run_once, Path(tmp), args.services, args.days, checks, args.steps)
                    times[checks].append(run.result())
    with_checks, without = statistics.median(times[True]), statistics.median(times[False])
    print("with checks:   " + ", ".join(f"{t:.1f}s" for t in times[True]))
    print("without:       " + ", ".join(f"{t:.1f}s" for t in times[False]))
    print(f"median daily run with checks {with_checks:.1f}s, without {without:.1f}s:"
          f" checks add {100 * (with_checks - without) / without:.0f}%")  # fmt: skip


if __name__ == "__main__":
    main()
