"""What the data-quality checks cost: the daily job on the sample organisation with and without them.

    .venv/bin/python -m benchmarks.checks_cost [--services 20] [--days 365]

"Without" skips the raw checks (reported as skipped), the dbt data tests (`--exclude-resource-type test`) and the
Great Expectations suites (OPMETRICS_DISABLE_GX=1). Each variant runs on a fresh warehouse; the wall time is the
Dagster run's own (start to end of the run), so start-up costs shared by both are left out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
from pathlib import Path

from dagster import DagsterInstance

import orchestration.dbt.assets as dbt_assets
import orchestration.raw.assets as raw_assets
from orchestration.cli import run_daily, serve_sample


def run_once(services: int, days: int, with_checks: bool) -> float:
    """Seconds the daily run took, in a fresh warehouse and Dagster home."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DAGSTER_HOME"] = str(Path(tmp) / "dagster_home")
        end = dt.datetime.now(dt.UTC).date()
        os.environ["OPMETRICS_AS_OF"] = end.isoformat()
        with serve_sample(services, days, 7, end, config_dir=Path(tmp)) as config:
            os.environ["OPMETRICS_CONFIG"] = str(config)
            assert run_daily(), "the daily run failed"
        with DagsterInstance.get() as instance:
            run = instance.get_runs(limit=1)[0]
            stats = instance.get_run_stats(run.run_id)
            return stats.end_time - stats.start_time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    with_checks = run_once(args.services, args.days, True)

    build_args = dbt_assets.dbt_build_args

    def without_tests(full_refresh: bool = False) -> list[str]:
        return [*build_args(full_refresh), "--exclude-resource-type", "test"]

    dbt_assets.dbt_build_args = without_tests
    raw_assets.evaluate_raw_checks = lambda con, source, stream, key, as_of: raw_assets.skipped_checks(key, "bench")
    os.environ["OPMETRICS_DISABLE_GX"] = "1"
    without = run_once(args.services, args.days, False)
    print(f"daily run with checks {with_checks:.1f}s, without {without:.1f}s:"
          f" checks add {100 * (with_checks - without) / without:.0f}%")  # fmt: skip


if __name__ == "__main__":
    main()
