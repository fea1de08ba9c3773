"""Dagster definitions, grouped by concern: raw ingestion, dbt transformation, serving, the daily job."""

from __future__ import annotations

from dagster import Definitions

from orchestration.dbt.assets import dbt_resource, opmetrics_dbt_assets
from orchestration.jobs import daily_refresh, daily_schedule
from orchestration.quality.checks import quality_checks
from orchestration.raw.assets import raw_assets
from orchestration.raw.catalog import service_catalog
from orchestration.resources import opmetrics_resource
from orchestration.serving.assets import build_serving_assets, mart_keys

serving_assets = build_serving_assets(mart_keys([opmetrics_dbt_assets]))

defs = Definitions(
    assets=[*raw_assets, service_catalog, opmetrics_dbt_assets, *serving_assets],
    asset_checks=quality_checks(),
    jobs=[daily_refresh],
    schedules=[daily_schedule],
    resources={"opmetrics": opmetrics_resource(), "dbt": dbt_resource()},
)
