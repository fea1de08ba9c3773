"""A stand-in for the dbt build, so Dagster runs of the serving assets take a second instead of a minute.

Like `opmetrics_dbt_assets`, it is one multi-asset that rewrites every mart in the warehouse (here from the fixture,
with the real contracts' columns), yields one materialization per mart and a dbt-like check, and can fail after
building (as `dbt build` does when a model or test errors) or be run for a subset of the marts.
"""

# No `from __future__ import annotations`: Dagster resolves the config and context annotations at definition time.

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    DagsterInstance,
    ExecuteInProcessResult,
    MaterializeResult,
    materialize,
    multi_asset,
)

from orchestration.resources import OpmetricsResource
from orchestration.serving.assets import build_serving_assets
from orchestration.serving.schema_doc import load_mart_docs
from tests.serving.fixtures import add_non_mart_schemas, create_mart_tables, fill_marts

MART_KEYS = [AssetKey(["marts", doc.name]) for doc in load_mart_docs()]
CHECKED = AssetKey(["marts", "operating_model_comparison"])
CHECK_NAME = "unique_combination_measure_operating_model"


class StandInBuild(Config):
    version: int = 0
    events_per_week: int = 3
    check_passes: bool = True
    fail_after_build: bool = False


@multi_asset(
    name="stand_in_dbt_build",
    specs=[AssetSpec(key, group_name="marts") for key in MART_KEYS],
    check_specs=[AssetCheckSpec(CHECK_NAME, asset=CHECKED)],
    can_subset=True,
)
def stand_in_dbt_build(
    context: AssetExecutionContext, config: StandInBuild, opmetrics: OpmetricsResource
) -> Iterator[Any]:
    with opmetrics.connect() as con:
        create_mart_tables(con)
        fill_marts(con, config.version, config.events_per_week)
        add_non_mart_schemas(con)
    for key in MART_KEYS:
        if key in context.selected_asset_keys:
            yield MaterializeResult(asset_key=key)
    if config.fail_after_build:
        raise RuntimeError("dbt build failed: 1 error")
    if CHECKED in context.selected_asset_keys:
        yield AssetCheckResult(
            asset_key=CHECKED, check_name=CHECK_NAME, passed=config.check_passes, severity=AssetCheckSeverity.ERROR
        )


def write_config(folder: Path) -> Path:
    """The smallest valid catalog, with the warehouse in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "opmetrics.yaml"
    config.write_text(
        "warehouse: warehouse.duckdb\n"
        "services:\n"
        "  - name: checkout\n"
        "    team: payments\n"
        "    availability_target: 99.9\n"
        "    operating_model:\n"
        "      - {model: ops_run_it, from: 2024-01-01}\n"
    )
    return config


def run(
    config: Path,
    instance: DagsterInstance,
    build: StandInBuild | None = None,
    selection: list[AssetKey] | None = None,
) -> ExecuteInProcessResult:
    """One run of the stand-in build and the real serving assets (or of `selection` among them)."""
    assets = [stand_in_dbt_build, *build_serving_assets(MART_KEYS)]
    return materialize(
        assets,
        resources={"opmetrics": OpmetricsResource(config_path=str(config))},
        instance=instance,
        run_config={"ops": {"stand_in_dbt_build": {"config": (build or StandInBuild()).model_dump()}}},
        selection=selection,
        raise_on_error=False,
    )
