"""Dagster wiring: the dbt command, the translator, and one continuous lineage graph."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey

from orchestration.dbt.assets import OpmetricsTranslator, dbt_build_args, dbt_executable
from orchestration.dbt.project import DBT_PROJECT_DIR
from tests.test_dbt_project import dbt, log_file_levels


def test_the_daily_build_selects_every_model_and_seed_and_leaves_the_tests_out(
    dbt_manifest: Path, tmp_path: Path
) -> None:
    """What `dbt build` with the daily run's arguments would run, asked of dbt itself (`dbt ls`): every model and
    seed; no unit test (`make test` runs them) and no data test (the dbt asset runs them as one batch after the
    build, `tests/test_dbt_data_tests.py`)."""
    command, *selection = dbt_build_args()
    assert command == "build"
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "--quiet", "ls", *selection, "--output", "json",
         "--output-keys", "unique_id", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target")],
        env={**os.environ, "OPMETRICS_WAREHOUSE": str(tmp_path / "w.duckdb")}, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    selected = {json.loads(line)["unique_id"] for line in listed.splitlines() if line.startswith("{")}
    manifest = json.loads(dbt_manifest.read_text())
    buildable = {i for i, n in manifest["nodes"].items() if n["resource_type"] in ("model", "seed")}
    tests = {i for i, n in manifest["nodes"].items() if n["resource_type"] == "test"}
    assert buildable and buildable <= selected, f"left out of the daily build: {sorted(buildable - selected)}"
    assert tests and not selected & tests, "data tests run in the batch after the build"
    assert manifest["unit_tests"] and not selected & set(manifest["unit_tests"]), "unit tests run in `make test` only"
    assert "--full-refresh" in dbt_build_args(full_refresh=True)
    assert "--full-refresh" not in dbt_build_args()


def test_the_daily_build_leaves_the_prepared_manifest_alone(tmp_path: Path) -> None:
    """The daily build, by the dbt the run starts (`opmetrics-dbt`), writes no JSON artifacts: the manifest Dagster's
    definitions were loaded from stays as it is. Its exit skips the last garbage collection, yet the warehouse is
    closed: no write-ahead log is left beside it."""
    target, warehouse = tmp_path / "target", tmp_path / "w.duckdb"
    # the seeds alone (they read nothing), without the tests that would read models
    result = dbt([*dbt_build_args(), "--select", "resource_type:seed", "--indirect-selection", "empty"],
                 warehouse, target, executable=os.fspath(dbt_executable()))  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\d+ of \d+ OK loaded seed", result.stdout), result.stdout[-3000:]
    assert (target / "run" / "opmetrics").exists(), "the build ran"
    assert not (target / "manifest.json").exists() and not (target / "run_results.json").exists()
    assert warehouse.exists() and not Path(f"{warehouse}.wal").exists()


def test_the_run_starts_opmetrics_dbt_or_else_the_venvs_dbt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`opmetrics-dbt` beside the interpreter (installed with the package), or that venv's `dbt` without it."""
    assert dbt_executable() == Path(sys.executable).with_name("opmetrics-dbt")
    monkeypatch.setattr(sys, "executable", os.fspath(tmp_path / "bin" / "python"))
    assert dbt_executable() == tmp_path / "bin" / "dbt"


def test_the_daily_build_logs_no_statements_to_its_file_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt's log file holds warnings and errors by default; DBT_LOG_LEVEL_FILE=debug brings back every statement.
    It is dbt's text, while standard output stays the JSON dagster-dbt reads."""
    seeds = ["--select", "resource_type:seed", "--indirect-selection", "empty"]
    monkeypatch.setenv("DBT_LOG_FORMAT", "json")  # as dagster-dbt runs dbt
    levels = {}
    for level in ("warn", "debug"):
        logs = tmp_path / level / "logs"
        monkeypatch.setenv("DBT_LOG_PATH", str(logs))
        args = dbt_build_args() if level == "warn" else dbt_build_args(file_log_level=level)
        result = dbt([*args, *seeds], tmp_path / "w.duckdb", tmp_path / level / "target")
        assert result.returncode == 0, result.stdout[-3000:]
        assert any(json.loads(line)["info"]["name"] == "LogSeedResult" for line in result.stdout.splitlines()
                   if line.startswith("{")), "dagster-dbt reads each node's result from standard output"  # fmt: skip
        lines = (logs / "dbt.log").read_text().splitlines() if (logs / "dbt.log").exists() else []
        assert not any(line.startswith("{") for line in lines), "the file is dbt's text, not JSON"
        levels[level] = set(log_file_levels(logs / "dbt.log"))
    assert "debug" in levels["debug"], "the debug log holds the statements"
    assert not levels["warn"] & {"debug", "info"}, levels["warn"]


def test_translator_maps_sources_onto_raw_assets() -> None:
    translator = OpmetricsTranslator()
    source = {"resource_type": "source", "schema": "raw_github", "name": "deployments", "fqn": []}
    model = {
        "resource_type": "model",
        "config": {"schema": "marts"},
        "schema": "marts",
        "name": "fct_deployments",
        "fqn": ["opmetrics", "marts", "delivery", "fct_deployments"],
    }
    assert translator.get_asset_key(source) == AssetKey(["raw_github", "deployments"])
    assert translator.get_asset_key(model) == AssetKey(["marts", "fct_deployments"])
    assert translator.get_group_name(model) == "marts"


def test_lineage_is_one_graph(dbt_manifest: Path) -> None:
    """Every dbt source is a raw asset that some Python asset materializes: no dangling external assets."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    materializable = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    dbt_keys = {key for key in materializable if key.path[0] in ("staging", "intermediate", "marts")}
    assert dbt_keys, "no dbt models were loaded"
    upstream = {dep for key in dbt_keys for dep in graph.get(key).parent_keys}
    raw = {key for key in upstream if key.path[0].startswith("raw_")}
    assert raw, "dbt models do not depend on raw assets"
    assert raw <= materializable, f"dbt sources without a raw asset: {sorted(raw - materializable)}"
    assert defs.resolve_job_def("daily_refresh")


def test_the_job_without_checks_has_the_same_assets_and_no_check() -> None:
    """The baseline `benchmarks/checks_cost.py` measures the checks against: every asset, not one check."""
    from orchestration.definitions import build_definitions, daily_refresh_job

    with_checks, without = daily_refresh_job(), daily_refresh_job(checks=False)
    assets = build_definitions().resolve_asset_graph().materializable_asset_keys
    assert build_definitions(checks=False).resolve_asset_graph().materializable_asset_keys == assets
    assert with_checks.asset_check_selection is None  # every check of every asset
    assert without.asset_check_selection == set()
    assert without.asset_selection == assets
