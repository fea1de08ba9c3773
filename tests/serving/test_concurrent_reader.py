"""A reader in another process polls the snapshot while runs rebuild the marts and publish: it must never fail and
must always see one published snapshot whole, never a mixture, never a failed run's data."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance

from orchestration.serving.paths import serving_paths
from orchestration.serving.publish import publish_snapshot
from tests.serving.fixtures import build_warehouse, file_fingerprint
from tests.serving.standin import StandInBuild, run, write_config

ROOT = Path(__file__).resolve().parents[2]
# Enough rows that copying the marts takes a while (about 15k changes), so reads overlap the publishes.
EVENTS_PER_WEEK = 300


def _fingerprint(path: Path) -> str:
    return json.dumps(file_fingerprint(path))


def _wait_for_lines(log: Path, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= count:
            return
        time.sleep(0.05)
    raise TimeoutError(f"the reader wrote fewer than {count} results in {timeout}s")


def test_reader_sees_zero_errors_and_only_whole_published_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPMETRICS_SNAPSHOT", raising=False)
    config = write_config(tmp_path / "org")
    warehouse = tmp_path / "org" / "warehouse.duckdb"
    snapshot = serving_paths(warehouse).snapshot
    instance = DagsterInstance.ephemeral()

    # The snapshot readers start with: the last good run's (published here directly, to save a run).
    build_warehouse(warehouse, version=0, events_per_week=EVENTS_PER_WEEK)
    publish_snapshot(warehouse, snapshot, parquet_dir=snapshot.parent / "parquet")
    published, rejected = [_fingerprint(snapshot)], []

    log, stop = tmp_path / "reads.jsonl", tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-m", "tests.serving.snapshot_reader", str(snapshot), str(log), str(stop)], cwd=ROOT
    )
    try:
        _wait_for_lines(log, 3)
        # Full runs (build the marts, check them, publish, render the report) while the reader reads; the first
        # one fails its check after rebuilding the marts, so its data is in the warehouse but must never be read.
        for version, passes in ((1, False), (2, True)):
            result = run(config, instance, StandInBuild(version=version, check_passes=passes,
                                                        events_per_week=EVENTS_PER_WEEK))  # fmt: skip
            assert result.success is passes
            (published if passes else rejected).append(_fingerprint(snapshot if passes else warehouse))
        # Then publishes back to back, alternating two warehouses, so some reads certainly straddle a rename.
        other = build_warehouse(tmp_path / "w3.duckdb", 3, EVENTS_PER_WEEK)
        published.append(_fingerprint(other))
        for i in range(8):
            publish_snapshot(other if i % 2 == 0 else warehouse, snapshot, parquet_dir=snapshot.parent / "parquet")
        reads_before_stop = len(log.read_text().splitlines())
        _wait_for_lines(log, reads_before_stop + 3)
    finally:
        stop.touch()
        reader.wait(timeout=30)

    results = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [r["error"] for r in results if "error" in r]
    seen = [json.dumps(r["fingerprint"]) for r in results if "fingerprint" in r]
    assert errors == [], f"{len(errors)} of {len(results)} reads failed, first: {errors[:3]}"
    assert len(set(published)) == len(published) == 3 and rejected[0] not in published
    assert set(seen) <= set(published), "a read returned something that was never published whole"
    assert rejected[0] not in seen
    assert len(seen) >= 20 and set(seen) == set(published), f"too few reads overlapped the publishes: {len(seen)}"
