"""What one asset check costs Dagster itself, with nothing checked: the floor under every check of the daily run.

    .venv/bin/python -m benchmarks.check_overhead [--checks 100] [--rounds 3]

One asset, materialized in process against a fresh SQLite-backed instance (the storage `dagster.yaml` uses),
once with no checks and once with `--checks` trivial checks that pass without reading anything. The difference
per check is Dagster's own bookkeeping: a planned event when the run is created, then an evaluation and an
output event, each written to the event log.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    asset,
    define_asset_job,
    in_process_executor,
)


def run_seconds(checks: int) -> float:
    """Seconds to execute a one-asset job carrying `checks` trivial checks, in a fresh instance."""

    @asset(check_specs=[AssetCheckSpec(f"check_{i}", asset="subject") for i in range(checks)])
    def subject() -> MaterializeResult:
        return MaterializeResult(
            check_results=[AssetCheckResult(check_name=f"check_{i}", passed=True) for i in range(checks)]
        )

    job = Definitions(
        assets=[subject], jobs=[define_asset_job("job", executor_def=in_process_executor)]
    ).resolve_job_def("job")
    with tempfile.TemporaryDirectory() as home, DagsterInstance.local_temp(home) as instance:
        started = time.perf_counter()
        assert job.execute_in_process(instance=instance).success
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run_seconds(0)  # warm-up: imports and first-use costs shared by both
    bare = statistics.median(run_seconds(0) for _ in range(args.rounds))
    checked = statistics.median(run_seconds(args.checks) for _ in range(args.rounds))
    print(f"one asset: {bare:.2f}s bare, {checked:.2f}s with {args.checks} trivial checks:"
          f" {1000 * (checked - bare) / args.checks:.0f} ms per check")  # fmt: skip


if __name__ == "__main__":
    main()
