"""Dagster definitions, grouped by concern: raw ingestion, dbt transformation, the daily job."""

from __future__ import annotations

from dagster import Definitions

from orchestration.dbt.assets import dbt_resource, opmetrics_dbt_assets
from orchestration.jobs import daily_refresh, daily_schedule
from orchestration.raw.assets import raw_assets
from orchestration.raw.catalog import service_catalog
from orchestration.resources import opmetrics_resource

defs = Definitions(
    assets=[*raw_assets, service_catalog, opmetrics_dbt_assets],
    jobs=[daily_refresh],
    schedules=[daily_schedule],
    resources={"opmetrics": opmetrics_resource(), "dbt": dbt_resource()},
)
