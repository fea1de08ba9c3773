"""The daily job on a tiny sample organisation with fault modes injected: each fault is caught where it should be.

Two runs (each ~30-40 s): the quarantine faults together (they touch different records and must not stop the run),
then the load-breaking faults together (a page without the fields every record must carry fails a blocking raw check,
so nothing downstream may be rebuilt; an empty incidents table beside it is a warning).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckEvaluation, DagsterEventType, DagsterInstance

from orchestration.cli import run_daily, serve_sample
from sample_org.faults import INJECTED_IDS

END = dt.date(2026, 6, 30)
# Every measure of Table 1, for both models: the injected faults must not cost the comparison a single figure.
MEASURED = {
    (measure, model)
    for measure in (
        "deployment_frequency",
        "deployment_lead_time",
        "availability_level",
        "time_to_restore",
        "time_to_generate_insights",
        "time_to_implement_actions",
        "change_failure_rate",
    )
    for model in ("you_build_it_you_run_it", "ops_run_it")
}


@dataclass
class FaultRun:
    ok: bool
    warehouse: Path
    materialized: set[str]
    checks: dict[str, AssetCheckEvaluation]


def _run(tmp: Path, faults: tuple[str, ...], env: dict[str, str] | None = None) -> FaultRun:
    saved = dict(os.environ)
    os.environ.update(DAGSTER_HOME=str(tmp / "dagster_home"), OPMETRICS_AS_OF=END.isoformat(), **(env or {}))
    try:
        with serve_sample(services=4, days=60, seed=5, end=END, config_dir=tmp, faults=faults) as config:
            os.environ["OPMETRICS_CONFIG"] = str(config)
            ok = run_daily()
        with DagsterInstance.get() as instance:
            run_id = instance.get_runs(limit=1)[0].run_id
            records = instance.all_logs(
                run_id, of_type={DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION}
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    materialized, checks = set(), {}
    for r in records:
        event = r.dagster_event
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            materialized.add(event.asset_key.to_user_string())
        else:
            e = event.event_specific_data
            checks[f"{e.asset_key.to_user_string()}:{e.check_name}"] = e
    return FaultRun(ok, tmp / "warehouse.duckdb", materialized, checks)


@pytest.fixture(scope="module")
def quarantine_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRun]:
    # The tiny org has few incidents: a 50% limit keeps the injected ones a WARN (the ERROR rule is unit-tested).
    faults = (
        "unknown_service",
        "resolved_before_triggered",
        "unparseable_timestamp",
        "null_identifier",
        "conflicting_duplicate",
    )
    yield _run(tmp_path_factory.mktemp("quarantine"), faults, {"OPMETRICS_QUARANTINE_MAX_SHARE": "0.5"})


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRun]:
    yield _run(tmp_path_factory.mktemp("broken"), ("null_page", "zero_incidents"))


def _quarantine(warehouse: Path) -> set[tuple[str, str, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return set(con.execute("select source_table, record_id, reason from quarantine.quarantined_records").fetchall())


def test_quarantine_faults_do_not_stop_the_run(quarantine_run: FaultRun) -> None:
    assert quarantine_run.ok
    assert "serving/marts_snapshot" in quarantine_run.materialized


def test_every_injected_record_is_quarantined_with_its_reason(quarantine_run: FaultRun) -> None:
    quarantined = _quarantine(quarantine_run.warehouse)
    assert ("raw_pagerduty.incidents", INJECTED_IDS["unknown_service"], "unknown_service") in quarantined
    assert (
        "raw_pagerduty.incidents",
        INJECTED_IDS["resolved_before_triggered"],
        "resolved_before_triggered",
    ) in quarantined
    bad_time = {(t, r) for t, i, r in quarantined if i == INJECTED_IDS["unparseable_timestamp"]}
    assert bad_time and all(r == "unparsable_timestamp" for _, r in bad_time), quarantined
    null_ids = [i for t, i, r in quarantined if r == "null_identifier"]
    assert len(null_ids) == 1 and null_ids[0].startswith("nokey:"), quarantined
    with duckdb.connect(str(quarantine_run.warehouse), read_only=True) as con:
        kept = con.execute(
            "select source_record ->> '$.title', source_record ->> '$.id' from quarantine.quarantined_records"
            " where reason = 'null_identifier'"
        ).fetchone()
    assert kept[0] and kept[1] is None, "the source record is kept whole, its null id included"


def test_both_versions_of_a_conflicting_duplicate_are_quarantined_and_kept_out(quarantine_run: FaultRun) -> None:
    with duckdb.connect(str(quarantine_run.warehouse), read_only=True) as con:
        conflicts = con.execute(
            "select _pk, payload ->> '$.id' from raw_pagerduty.incidents where _pk like 'conflict:%'"
        ).fetchall()
        facts = {i for (i,) in con.execute("select incident_id from marts.fct_incidents").fetchall()}
        kept_titles = dict(
            con.execute(
                "select record_id, source_record ->> '$.title' from quarantine.quarantined_records"
                " where reason = 'conflicting_duplicate'"
            ).fetchall()
        )
    assert conflicts, "the fault delivers a second version of an incident"
    quarantined = _quarantine(quarantine_run.warehouse)
    for conflict_pk, incident_id in conflicts:
        assert ("raw_pagerduty.incidents", conflict_pk, "conflicting_duplicate") in quarantined
        assert ("raw_pagerduty.incidents", incident_id, "conflicting_duplicate") in quarantined
        assert incident_id not in facts
        assert kept_titles[conflict_pk].endswith("(conflicting copy)")
        assert not kept_titles[incident_id].endswith("(conflicting copy)")


def test_quarantine_check_warns_with_counts_per_reason(quarantine_run: FaultRun) -> None:
    check = quarantine_run.checks["quarantine/quarantined_records:quarantine_share"]
    assert not check.passed and check.severity.value == "WARN"
    by_reason = check.metadata["by_reason"].value
    assert by_reason["unknown_service"] >= 1
    assert by_reason["resolved_before_triggered"] >= 1
    assert by_reason["unparsable_timestamp"] >= 1
    assert by_reason["conflicting_duplicate"] >= 2


def test_good_records_reach_the_marts_and_bad_ones_do_not_count(quarantine_run: FaultRun) -> None:
    with duckdb.connect(str(quarantine_run.warehouse), read_only=True) as con:
        raw = con.execute("select count(*) from raw_pagerduty.incidents").fetchone()[0]
        conflicts = con.execute("select count(*) from raw_pagerduty.incidents where _pk like 'conflict:%'")
        conflicts = conflicts.fetchone()[0]
        facts = dict(con.execute("select incident_id, has_invalid_timeline from marts.fct_incidents").fetchall())
        measured = con.execute(
            "select measure, operating_model from marts.operating_model_comparison where value is not null"
        ).fetchall()
    assert INJECTED_IDS["unknown_service"] not in facts
    # Resolved-before-triggered stays in the fact, flagged, and out of every downtime and restore measure.
    assert facts.get(INJECTED_IDS["resolved_before_triggered"]) is True
    # Out of the fact: the unknown service's incident, the null-id one, and both rows of each conflict.
    assert len(facts) >= raw - 2 - 2 * conflicts > 0
    assert set(measured) >= MEASURED, sorted(MEASURED - set(measured))


def test_gx_checks_ran_and_passed_on_good_marts(quarantine_run: FaultRun) -> None:
    gx = {k: v for k, v in quarantine_run.checks.items() if k.endswith((":gx_suite", ":row_count_drift"))}
    assert set(gx) == {
        "marts/deployment_throughput:gx_suite",
        "marts/deployment_throughput:row_count_drift",
        "marts/service_reliability:gx_suite",
        "marts/service_reliability:row_count_drift",
        "marts/learning_culture:gx_suite",
        "marts/learning_culture:row_count_drift",
        "marts/operating_model_comparison:gx_suite",
    }
    assert all(v.passed for v in gx.values()), {k: v.metadata for k, v in gx.items() if not v.passed}


def test_load_breaking_faults_fail_their_blocking_raw_checks(broken_run: FaultRun) -> None:
    assert not broken_run.ok
    assert not broken_run.checks["raw_pagerduty/log_entries:required_fields_present"].passed
    # An API that answers with no incidents at all: an empty first load may be right (a warning, not a block).
    empty = broken_run.checks["raw_pagerduty/incidents:row_count"]
    assert not empty.passed and empty.severity.value == "WARN"


def test_nothing_downstream_of_a_failed_blocking_check_was_rebuilt(broken_run: FaultRun) -> None:
    rebuilt = {k for k in broken_run.materialized if k.split("/")[0] in ("staging", "intermediate", "marts", "serving")}
    assert not rebuilt, sorted(rebuilt)
