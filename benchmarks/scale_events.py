"""What one `opmetrics run` did, read back from the Dagster instance's event log: steps, requests, records, checks.

`load_run_events` turns the event log of a run into plain `Event`s (the only function here that imports Dagster);
`summarize_run` is pure, so the benchmark's smoke test feeds it a canned event log.

How each figure is derived (the event log is all it reads, so it keeps working as the steps change):
- a step is a raw sync when it materializes assets carrying `records_merged` (the source is the asset key's first
  part without `raw_`); dbt when its events carry a dbt `unique_id`; a check step when it evaluates checks and
  materializes nothing; serving when it materializes `serving/...`; the catalog when only `raw_catalog/...`.
- requests per source: the `requests` metadata of the source's raw assets (the connector's count for the sync).
- raw checks inside a sync step: from the sync's last log line before its first materialization (the connector's
  and the sync's progress lines are Dagster-managed loggers) to the step's end; that covers the row counts, the
  checks and Dagster writing their events. The sync's last line comes after it has checkpointed the warehouse, so
  that write counts as the sync's. Without such a line: the first materialization minus the mean gap between the
  step's materializations.
- dbt tests: the daily run's batch after dbt's build (checks whose `runner` metadata names it) gets its span, from
  its first test's start (that check's event minus its `Execution Duration`) to its last check's event; tests dbt
  ran itself get the span of the dbt nodes' events (first node's start to last node's end) in proportion to their
  share of the nodes' summed `Execution Duration` (dbt's time between nodes is shared out alike).
- check steps (Great Expectations suites, the catalog, quarantine and serving checks) count whole.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MATERIALIZATION = "ASSET_MATERIALIZATION"
CHECK = "ASSET_CHECK_EVALUATION"
CHECK_PLANNED = "ASSET_CHECK_EVALUATION_PLANNED"
STEP_START = "STEP_START"
STEP_ENDS = ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")
RUN_START = ("PIPELINE_START", "RUN_START")
RUN_ENDS = ("PIPELINE_SUCCESS", "PIPELINE_FAILURE", "RUN_SUCCESS", "RUN_FAILURE", "PIPELINE_CANCELED")
LOG = "LOG"  # a log line (no Dagster event)
DBT_DURATION = "Execution Duration"
# The metadata the daily run's data test batch puts on each check (`orchestration/dbt/data_tests.py`).
RUNNER, BATCH_RUNNER = "runner", "data test batch"


@dataclass(frozen=True)
class Event:
    """One entry of a run's event log, reduced to what the benchmark reads."""

    ts: float
    kind: str  # a DagsterEventType value, or LOG
    step: str | None = None
    asset: str | None = None  # "raw_github/deployments"
    check: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (the canned event logs of the smoke test are written this way)."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, {}, "")}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Event:
        """The inverse of `to_json`."""
        return Event(**data)


def _plain(value: Any) -> Any:
    """A metadata value as a JSON-able Python value (numbers stay numbers)."""
    inner = getattr(value, "value", value)
    if isinstance(inner, bool | int | float | str) or inner is None:
        return inner
    return str(inner)[:200]


def load_run_events(dagster_home: Path, skip_run_ids: Iterable[str] = ()) -> tuple[str, str, list[Event]]:
    """(run id, status, events) of the newest run in the instance at `dagster_home` not in `skip_run_ids`."""
    from dagster import DagsterInstance

    skip = set(skip_run_ids)
    # The repository's dagster.yaml reads its storage folder from DAGSTER_HOME.
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        with DagsterInstance.from_config(str(dagster_home)) as instance:
            return _load(instance, skip, dagster_home)
    finally:
        if previous is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = previous


def _load(instance: Any, skip: set[str], dagster_home: Path) -> tuple[str, str, list[Event]]:
    """The newest run of `instance` not in `skip`, as plain events."""
    runs = [r for r in instance.get_runs(limit=len(skip) + 1) if r.run_id not in skip]
    if not runs:
        raise RuntimeError(f"no new run in the Dagster instance at {dagster_home}")
    run = runs[0]
    events = []
    for record in instance.get_records_for_run(run.run_id, limit=10_000_000).records:
        entry = record.event_log_entry
        de = entry.dagster_event
        if de is None:
            events.append(Event(entry.timestamp, LOG, entry.step_key, message=entry.user_message[:200]))
            continue
        asset = check = None
        metadata: dict[str, Any] = {}
        data = de.event_specific_data
        if de.event_type_value == MATERIALIZATION:
            asset = data.materialization.asset_key.to_user_string()
            metadata = {k: _plain(v) for k, v in data.materialization.metadata.items() if k != "preview"}
        elif de.event_type_value == CHECK:
            asset, check = data.asset_key.to_user_string(), data.check_name
            metadata = {k: _plain(v) for k, v in data.metadata.items()}
            metadata["passed"] = data.passed
        elif de.event_type_value == CHECK_PLANNED:
            asset, check = data.asset_key.to_user_string(), data.check_name
        events.append(Event(entry.timestamp, de.event_type_value, entry.step_key, asset, check, metadata))
    return run.run_id, run.status.value, events


def _is_dbt(events: list[Event]) -> bool:
    return any(str(e.metadata.get("unique_id", "")).split(".")[0] in ("model", "seed", "test") for e in events)


def step_bucket(events: list[Event]) -> str:
    """What a step is, from its events: raw_sync, dbt, check_step, serving, catalog or other."""
    mats = [e for e in events if e.kind == MATERIALIZATION]
    if any("records_merged" in e.metadata for e in mats):
        return "raw_sync"
    if _is_dbt(events):
        return "dbt"
    if not mats:
        return "check_step" if any(e.kind == CHECK for e in events) else "other"
    prefixes = {(e.asset or "").split("/")[0] for e in mats}
    if prefixes == {"raw_catalog"}:
        return "catalog"
    if "serving" in prefixes:
        return "serving"
    return "other"


def _raw_check_seconds(events: list[Event], end: float) -> float:
    """Time a raw sync step spent after the sync itself: row counts, raw checks, their events (see module doc)."""
    mats = [e for e in events if e.kind == MATERIALIZATION]
    if not mats or not any(e.kind == CHECK for e in events):
        return 0.0
    first = mats[0].ts
    lines = [e.ts for e in events if e.kind == LOG and e.ts <= first]
    if lines:
        return max(0.0, end - max(lines))
    gap = (mats[-1].ts - first) / (len(mats) - 1) if len(mats) > 1 else 0.0
    return max(0.0, end - first + gap)


def _in_batch(event: Event) -> bool:
    """Whether `event` is a check of the daily run's data test batch rather than of a test dbt ran."""
    return event.kind == CHECK and event.metadata.get(RUNNER) == BATCH_RUNNER


def _dbt_test_seconds(events: list[Event]) -> tuple[float, float, float]:
    """(wall seconds attributed to dbt tests, tests' summed execution time, the dbt nodes' event span)."""
    nodes = [e for e in events if e.kind in (MATERIALIZATION, CHECK) and DBT_DURATION in e.metadata]
    in_batch = [e for e in nodes if _in_batch(e)]
    batch_sum = sum(float(e.metadata[DBT_DURATION] or 0) for e in in_batch)
    batch_s = in_batch[-1].ts - in_batch[0].ts + float(in_batch[0].metadata[DBT_DURATION] or 0) if in_batch else 0.0
    by_dbt = [e for e in nodes if not _in_batch(e)]
    if not by_dbt:
        return batch_s, batch_sum, 0.0
    durations = [float(e.metadata[DBT_DURATION] or 0) for e in by_dbt]
    tests = sum(d for e, d in zip(by_dbt, durations, strict=True) if e.kind == CHECK)
    total = sum(durations)
    span = by_dbt[-1].ts - by_dbt[0].ts + durations[0]
    return batch_s + (span * tests / total if total else 0.0), batch_sum + tests, span


def peak_rss_by_step(events: list[Event], samples: Iterable[tuple[float, str, float]]) -> dict[str, dict[str, Any]]:
    """The largest process's peak RSS while each step ran, and its kind (`opmetrics`, `dbt`...), from the
    sampler's `(epoch seconds, kind, MiB)`; samples outside every step count for `(outside the steps)`.

    Which step holds memory is what the run's single peak does not say (e.g. a sync's DuckDB or a suite's frames).
    """
    spans: dict[str, list[float]] = {}
    for event in events:
        if event.step and event.kind == STEP_START:
            spans[event.step] = [event.ts, float("inf")]
        elif event.step and event.step in spans and event.kind in STEP_ENDS:
            spans[event.step][1] = event.ts
    peaks: dict[str, dict[str, Any]] = {}
    for ts, kind, rss in samples:
        steps = [step for step, (start, end) in spans.items() if start <= ts <= end] or ["(outside the steps)"]
        for step in steps:
            if rss > peaks.get(step, {}).get("rss_mib", -1.0):
                peaks[step] = {"rss_mib": round(rss, 1), "kind": kind}
    return dict(sorted(peaks.items(), key=lambda item: -item[1]["rss_mib"]))


def summarize_run(events: list[Event]) -> dict[str, Any]:
    """Steps, per-source requests and records, per-stream records, and the time spent in checks, of one run."""
    by_step: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.step:
            by_step[e.step].append(e)
    starts = [e.ts for e in events if e.kind in RUN_START]
    ends = [e.ts for e in events if e.kind in RUN_ENDS]
    steps: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    streams: dict[str, dict[str, Any]] = {}
    buckets: dict[str, float] = defaultdict(float)
    checks = {"raw_checks_s": 0.0, "dbt_tests_s": 0.0, "dbt_tests_exec_sum_s": 0.0, "gx_s": 0.0, "other_checks_s": 0.0}
    for key, evs in by_step.items():
        # Planned events carry step keys too, from the run's start: a step's time runs from its STEP_START.
        start = next((e.ts for e in evs if e.kind == STEP_START), None)
        end_event = next((e for e in reversed(evs) if e.kind in STEP_ENDS), None)
        bucket = step_bucket(evs)
        if start is None:
            steps[key] = {"seconds": 0.0, "bucket": bucket, "status": "not started", "checks": 0}
            continue
        end = end_event.ts if end_event else evs[-1].ts
        seconds = end - start
        steps[key] = {
            "seconds": round(seconds, 3),
            "bucket": bucket,
            "status": end_event.kind if end_event else "unfinished",
            "checks": sum(1 for e in evs if e.kind == CHECK),
        }
        buckets[bucket] += seconds
        if bucket == "raw_sync":
            raw_checks = _raw_check_seconds(evs, end)
            checks["raw_checks_s"] += raw_checks
            for e in evs:
                if e.kind != MATERIALIZATION or "records_merged" not in e.metadata:
                    continue
                prefix, _, stream = (e.asset or "").partition("/")
                source = prefix.removeprefix("raw_")
                src = sources.setdefault(
                    source,
                    {"requests": 0, "records_merged": 0, "rows": 0, "sync_s": 0.0, "raw_checks_s": 0.0, "steps": []},
                )
                src["requests"] = max(src["requests"], int(e.metadata.get("requests") or 0))
                src["records_merged"] += int(e.metadata.get("records_merged") or 0)
                src["rows"] += int(e.metadata.get("dagster/row_count") or 0)
                streams[f"{source}/{stream}"] = {
                    "records_merged": int(e.metadata.get("records_merged") or 0),
                    "rows": int(e.metadata.get("dagster/row_count") or 0),
                }
                if key not in src["steps"]:
                    src["steps"].append(key)
                    src["sync_s"] += seconds
                    src["raw_checks_s"] += raw_checks
        elif bucket == "dbt":
            attributed, exec_sum, span = _dbt_test_seconds(evs)
            checks["dbt_tests_s"] += attributed
            checks["dbt_tests_exec_sum_s"] += exec_sum
            steps[key]["dbt_nodes_span_s"] = round(span, 3)
        elif bucket == "check_step":
            checks["gx_s" if "gx" in key.lower() else "other_checks_s"] += seconds
    checks["total_s"] = checks["raw_checks_s"] + checks["dbt_tests_s"] + checks["gx_s"] + checks["other_checks_s"]
    checks["evaluated"] = sum(1 for e in events if e.kind == CHECK)
    failed = sorted(f"{e.asset}:{e.check}" for e in events if e.kind == CHECK and e.metadata.get("passed") is False)
    checks["failed"] = len(failed)
    checks["failed_names"] = failed  # a warning's name too: the event log goes with the benchmark's work folder
    records = sum(s["records_merged"] for s in sources.values())
    sync_seconds = buckets.get("raw_sync", 0.0)
    return {
        "run_s": round(max(ends) - min(starts), 3) if starts and ends else None,
        "steps": steps,
        "buckets_s": {k: round(v, 3) for k, v in sorted(buckets.items())},
        "sources": {
            k: {**v, "sync_s": round(v["sync_s"], 3), "raw_checks_s": round(v["raw_checks_s"], 3)}
            for k, v in sorted(sources.items())
        },
        "streams": dict(sorted(streams.items())),
        "records_merged": records,
        "raw_rows": sum(s["rows"] for s in sources.values()),
        "sync_s": round(sync_seconds, 3),
        "ingest_records_per_s": round(records / sync_seconds, 1) if sync_seconds else None,
        "checks": {k: round(v, 3) if isinstance(v, float) else v for k, v in checks.items()},
    }
