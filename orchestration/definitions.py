"""Dagster definitions, grouped by concern: raw ingestion, dbt transformation, serving, the daily job."""

from __future__ import annotations

from functools import cache

from dagster import Definitions, JobDefinition

from connectors.registry import CONNECTORS
from orchestration.dbt.assets import dbt_resource, opmetrics_dbt_assets
from orchestration.jobs import daily_refresh, daily_schedule
from orchestration.quality.checks import quality_checks
from orchestration.raw.assets import build_source_assets
from orchestration.raw.catalog import service_catalog
from orchestration.resources import opmetrics_resource
from orchestration.serving.assets import build_serving_assets, mart_keys


@cache
def build_definitions(checks: bool = True) -> Definitions:
    """Every asset, check, job and resource of opmetrics.

    `checks=False` builds the same assets without any asset check (dbt tests included: the dbt assets then run
    as a subset without their checks): only to measure what the checks cost (`benchmarks/checks_cost.py`).
    """
    serving_assets = build_serving_assets(mart_keys([opmetrics_dbt_assets]))
    raw_assets = [build_source_assets(cls, checks) for cls in CONNECTORS.values()]
    return Definitions(
        assets=[*raw_assets, service_catalog, opmetrics_dbt_assets, *serving_assets],
        asset_checks=quality_checks() if checks else [],
        jobs=[daily_refresh],
        schedules=[daily_schedule],
        resources={"opmetrics": opmetrics_resource(), "dbt": dbt_resource()},
    )


defs = build_definitions()


def daily_refresh_job(checks: bool = True) -> JobDefinition:
    """`daily_refresh`, resolved. `checks=False`: the same assets without a single check, dbt tests included."""
    definitions = build_definitions(checks)
    job = definitions.resolve_job_def("daily_refresh")
    if checks:
        return job
    # The dbt assets still declare their tests as checks: select every asset and none of the checks.
    assets = set(definitions.resolve_asset_graph().materializable_asset_keys)
    return job.get_subset(asset_selection=assets, asset_check_selection=set())
