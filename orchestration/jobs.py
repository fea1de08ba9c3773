"""The daily job and its schedule."""

from __future__ import annotations

from dagster import AssetSelection, ScheduleDefinition, define_asset_job, in_process_executor

# In-process: the steps run one after another in one process, so there is one DuckDB writer at a time.
daily_refresh = define_asset_job(
    "daily_refresh",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Sync every source into the raw layer, then build and test the dbt models.",
    tags={"opmetrics/warehouse": "writer"},
)

daily_schedule = ScheduleDefinition(
    name="daily_refresh_schedule",
    job=daily_refresh,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
)
