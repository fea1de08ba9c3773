"""Dagster wiring: the dbt command, the translator, and one continuous lineage graph."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetKey

from orchestration.dbt.assets import OpmetricsTranslator, dbt_build_args


def test_dbt_build_args() -> None:
    assert dbt_build_args() == ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_args(full_refresh=True)[-1] == "--full-refresh"


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
