"""The serving assets in Dagster: only a complete, checked run publishes; the wiring; the marts' metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, DagsterInstance, Output

from orchestration.serving.assets import REPORT_KEY, SNAPSHOT_KEY, publish_blockers
from orchestration.serving.metadata import with_mart_metadata
from orchestration.serving.paths import serving_paths
from orchestration.serving.schema_doc import load_mart_docs
from tests.serving.fixtures import build_warehouse, file_fingerprint
from tests.serving.standin import MART_KEYS, StandInBuild, run, write_config


def test_publish_blockers_name_every_missing_mart_and_failed_check() -> None:
    a, b = AssetKey(["marts", "a"]), AssetKey(["marts", "b"])
    assert publish_blockers([a, b], [a, b, AssetKey(["staging", "x"])], []) == []
    assert publish_blockers([a, b], [a], ["marts/a:not_null_id"]) == [
        "marts/b was not materialized in this run",
        "check failed: marts/a:not_null_id",
    ]


def test_only_a_complete_run_whose_checks_pass_publishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPMETRICS_SNAPSHOT", raising=False)
    config = write_config(tmp_path)
    paths = serving_paths(tmp_path / "warehouse.duckdb")
    instance = DagsterInstance.ephemeral()

    good = run(config, instance, StandInBuild(version=0))
    assert good.success
    published = file_fingerprint(paths.snapshot)
    assert published == file_fingerprint(tmp_path / "warehouse.duckdb")
    assert paths.report.is_file() and (paths.parquet_dir / "marts" / "fct_changes.parquet").is_file()
    report_mtime = paths.report.stat().st_mtime_ns
    snapshot_event = good.asset_materializations_for_node("serving__marts_snapshot")[0]
    assert snapshot_event.metadata["storage_compatibility_version"].value == "v1.5.0"

    failed_check = run(config, instance, StandInBuild(version=1, check_passes=False))
    assert not failed_check.success
    failure = next(e for e in failed_check.all_events if e.is_step_failure)
    assert "check failed: marts/operating_model_comparison" in failure.step_failure_data.error.message

    failed_build = run(config, instance, StandInBuild(version=2, fail_after_build=True))
    assert not failed_build.success
    executed = {e.step_key for e in failed_build.all_events if e.is_step_success or e.is_step_failure}
    assert executed == {"stand_in_dbt_build"}, "the publish step must not even start after a failed build"

    partial = run(config, instance, StandInBuild(version=3), selection=[MART_KEYS[0], SNAPSHOT_KEY])
    assert not partial.success
    failure = next(e for e in partial.all_events if e.is_step_failure)
    assert "was not materialized in this run" in failure.step_failure_data.error.message

    # Three bad runs later, readers still get the last good snapshot and report.
    assert file_fingerprint(paths.snapshot) == published
    assert file_fingerprint(tmp_path / "warehouse.duckdb") != published
    assert paths.report.stat().st_mtime_ns == report_mtime


@pytest.mark.usefixtures("dbt_manifest")
def test_definitions_publish_after_every_mart_and_report_after_the_snapshot() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    marts = {key for key in graph.get_all_asset_keys() if key.path[0] == "marts"}
    assert marts == {AssetKey(["marts", doc.name]) for doc in load_mart_docs()}, "docs/bi.md must cover every mart"
    assert set(graph.get(SNAPSHOT_KEY).parent_keys) == marts
    assert set(graph.get(REPORT_KEY).parent_keys) == {SNAPSHOT_KEY}
    job = defs.resolve_job_def("daily_refresh")
    assert {SNAPSHOT_KEY, REPORT_KEY} <= set(job.asset_layer.asset_graph.get_all_asset_keys())


def test_mart_events_wait_for_dbt_then_carry_row_count_preview_and_table_1(tmp_path: Path) -> None:
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    keys = {
        "marts_operating_model_comparison": AssetKey(["marts", "operating_model_comparison"]),
        "marts_dim_services": AssetKey(["marts", "dim_services"]),
        "staging_stg_x": AssetKey(["staging", "stg_x"]),
    }
    check = AssetCheckResult(
        asset_key=keys["marts_dim_services"], check_name="unique", passed=True, severity=AssetCheckSeverity.ERROR
    )
    dbt_events = [
        Output(None, output_name="marts_dim_services", metadata={"unique_id": "model.opmetrics.dim_services"}),
        check,
        Output(None, output_name="staging_stg_x"),
        Output(None, output_name="marts_operating_model_comparison"),
    ]
    out = list(with_mart_metadata(iter(dbt_events), warehouse, keys.get))

    # Staging streams through at once; the marts follow in dbt's order, each check after its materialization.
    assert [getattr(e, "output_name", "check") for e in out] == [
        "staging_stg_x",
        "marts_dim_services",
        "check",
        "marts_operating_model_comparison",
    ]
    services, comparison = out[1], out[3]
    assert services.metadata["dagster/row_count"].value == 4
    assert services.metadata["unique_id"].value == "model.opmetrics.dim_services"
    assert "| service |" in services.metadata["preview"].value
    table_1 = comparison.metadata["table_1"].value
    assert "**Deployment frequency**" in table_1 and "Daily+" in table_1 and "n=21 from 2 services" in table_1


def test_mart_events_are_still_yielded_when_dbt_fails(tmp_path: Path) -> None:
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")

    def failing_dbt():
        yield Output(None, output_name="marts_dim_services")
        raise RuntimeError("dbt build failed")

    seen = []
    with pytest.raises(RuntimeError, match="dbt build failed"):
        for event in with_mart_metadata(failing_dbt(), warehouse, lambda name: AssetKey(["marts", "dim_services"])):
            seen.append(event)
    assert [e.output_name for e in seen] == ["marts_dim_services"]
    assert seen[0].metadata["dagster/row_count"].value == 4
