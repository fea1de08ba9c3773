"""dbt models, seeds and tests as Dagster assets and asset checks, joined to the raw assets by the translator."""

import importlib.metadata
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from packaging import version

from orchestration.dbt.data_tests import catalog_of, data_tests, run_data_tests
from orchestration.dbt.project import dbt_project
from orchestration.quality.gx_checks import prepare_great_expectations
from orchestration.resources import OpmetricsResource, as_of_date
from orchestration.serving.metadata import with_mart_metadata

# What dbt writes to its log file (target/dbt.log): warnings and errors, unless DBT_LOG_LEVEL_FILE says otherwise,
# as dbt's text, unless DBT_LOG_FORMAT_FILE says otherwise.
FILE_LOG_LEVEL = "warn"
FILE_LOG_FORMAT = "debug"


def dbt_build_args(
    full_refresh: bool = False, file_log_level: str = FILE_LOG_LEVEL, file_log_format: str = FILE_LOG_FORMAT
) -> list[str]:
    """The dbt command of the daily run. Pure, so its test pins exactly what runs.

    Unit tests are left out: their inputs are fixed, so they belong to `make test`, not to every daily run. Data
    tests are left out too: the asset runs their compiled SQL as one batch once dbt has built the models
    (`orchestration/dbt/data_tests.py`), which costs a fraction of dbt's work per test node.
    dbt writes no JSON artifacts (`manifest.json`, `run_results.json`): Dagster reads the run from dbt's event
    stream and its definitions from the manifest `dagster-dbt project prepare-and-package` wrote, so rewriting the
    manifest cost each run about 0.7 s for nothing.
    The as-of date and the warehouse reach dbt through the environment (OPMETRICS_AS_OF, OPMETRICS_WAREHOUSE),
    the one place the models read them from.
    dbt's log file keeps `file_log_level` and above: at dbt's default (debug) it holds every statement of every node,
    and writing it cost about 6% of dbt's CPU at the demo's size (docs/performance-log.md). Dagster reads the run
    from dbt's standard output, which this leaves as it is.
    The file is in `file_log_format`, by default dbt's own text as dbt writes it when run by hand, not the JSON
    dagster-dbt asks of standard output. Plain dbt formats a line for every event before it compares the event's
    level with the file's; `opmetrics-dbt` builds and formats an event below warning level only for a logger that
    writes it (`entrypoint.py`).
    """
    refresh = ["--full-refresh"] if full_refresh else []
    return [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--exclude-resource-type",
        "test",
        "--no-write-json",
        "--log-level-file",
        file_log_level,
        "--log-format-file",
        file_log_format,
        *refresh,
    ]


class OpmetricsTranslator(DagsterDbtTranslator):
    """Sources map onto the raw assets (`raw_<source>/<stream>`), so lineage is one graph; models are keyed
    by their schema (`marts/fct_deployments`) and grouped by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props.get("schema")
        return AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else "dbt"


class LocalDbtCliResource(DbtCliResource):
    """The dbt installed beside this interpreter, whose version is read from its package metadata.

    dagster-dbt otherwise starts `dbt --version` once per run to learn it: 2-3 s of a daily run's minute.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        # dagster-dbt otherwise parses the project in this process before every build (~2 s) to hand an adapter
        # to `fetch_row_counts` / `fetch_column_metadata`; the marts' metadata is read after the build instead.
        return None


def dbt_executable() -> Path:
    """The dbt the run starts: `opmetrics-dbt` next to this interpreter (dbt's CLI, ending without a last garbage
    collection: `orchestration/dbt/entrypoint.py`), or that venv's plain `dbt` if the package's scripts are not
    installed there; so a venv works without being on PATH."""
    here = Path(sys.executable)
    ours = here.with_name("opmetrics-dbt")
    return ours if ours.exists() else here.with_name("dbt")


def dbt_resource() -> DbtCliResource:
    return LocalDbtCliResource(project_dir=dbt_project, dbt_executable=os.fspath(dbt_executable()))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=OpmetricsTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def opmetrics_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, opmetrics: OpmetricsResource
) -> Iterator[Any]:
    # dbt runs in a subprocess that inherits the environment: that is how its profile finds the warehouse.
    os.environ["OPMETRICS_WAREHOUSE"] = os.fspath(opmetrics.warehouse_path)
    os.environ["OPMETRICS_AS_OF"] = as_of_date().isoformat()
    # The marts' events get row counts and previews once dbt has exited and released the warehouse.
    # The project's own target folder, not a fresh one per run: dbt then reuses its partial parse (seconds a run).
    # Runs never overlap (dagster.yaml), so they never share it at the same time.
    file_log_level = os.environ.get("DBT_LOG_LEVEL_FILE") or FILE_LOG_LEVEL
    file_log_format = os.environ.get("DBT_LOG_FORMAT_FILE") or FILE_LOG_FORMAT
    # The data tests the batch runs after the build, from the manifest these assets were defined from, read first:
    # one without their SQL fails before dbt runs.
    manifest, translator, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    tests = data_tests(manifest, translator, project, set(context.selected_asset_check_keys))
    invocation = dbt.cli(
        dbt_build_args(file_log_level=file_log_level, file_log_format=file_log_format),
        context=context,
        target_path=dbt_project.target_path,
    )
    # dbt has started in its own process and spends its first seconds loading: meanwhile this process, otherwise
    # waiting for its events, gets Great Expectations ready for the suites that check the marts after the build.
    prepare_great_expectations()
    events = invocation.stream()
    yield from with_mart_metadata(events, opmetrics.warehouse_path, context.asset_key_for_output)
    # dbt built every model (a failed build has raised above): the data tests now run as one batch, each reported
    # as the asset check dagster-dbt would have reported it.
    for outcome in run_data_tests(opmetrics.warehouse_path, tests, catalog_of(manifest)):
        yield outcome.check_result()
