"""The service catalog from the config file, landed as `raw_catalog.*` so dbt joins events to services."""

from collections.abc import Iterator

import duckdb
from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from orchestration.config import Catalog
from orchestration.resources import OpmetricsResource

CATALOG_TABLES = ("services", "operating_models", "settings")


def write_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> dict[str, int]:
    """Replace the catalog tables in one transaction; returns row counts."""
    services = [
        (
            s.name,
            s.team,
            s.availability_target,
            s.attribution_window_hours,
            getattr(s.sources.get("github"), "repo", None),
            getattr(s.sources.get("github"), "environment", None),
            getattr(s.sources.get("github"), "branch", None),
            getattr(s.sources.get("pagerduty"), "service_id", None),
            getattr(s.sources.get("jira"), "project", None),
            getattr(s.sources.get("opsgenie"), "team", None),
        )
        for s in catalog.services
    ]
    periods = [(s.name, p.model.value, p.from_) for s in catalog.services for p in s.operating_model]
    jira = catalog.sources.get("jira")
    link_field = getattr(getattr(jira, "incident_link", None), "field", "customfield_10042")
    settings = [
        ("timezone", catalog.timezone),
        ("jira_incident_link_field", link_field),
        ("window_days", str(catalog.window_days)),
    ]
    con.begin()
    con.execute("create schema if not exists raw_catalog")
    con.execute(
        """create or replace table raw_catalog.services (
            service varchar primary key, team varchar not null, availability_target double not null,
            attribution_window_hours double not null, github_repo varchar, github_environment varchar,
            github_branch varchar, pagerduty_service_id varchar, jira_project varchar,
            opsgenie_team varchar)"""
    )
    con.execute(
        """create or replace table raw_catalog.operating_models (
            service varchar not null, operating_model varchar not null, valid_from date not null,
            primary key (service, valid_from))"""
    )
    con.execute("create or replace table raw_catalog.settings (key varchar primary key, value varchar)")
    con.executemany("insert into raw_catalog.services values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", services)
    con.executemany("insert into raw_catalog.operating_models values (?, ?, ?)", periods)
    con.executemany("insert into raw_catalog.settings values (?, ?)", settings)
    con.commit()
    return {"services": len(services), "operating_models": len(periods), "settings": len(settings)}


@multi_asset(
    name="service_catalog",
    specs=[
        AssetSpec(
            AssetKey(["raw_catalog", table]),
            description=f"The `{table}` of the service catalog (OPMETRICS_CONFIG), replaced on every run.",
            group_name="raw",
            kinds={"duckdb", "yaml"},
        )
        for table in CATALOG_TABLES
    ],
)
def service_catalog(context: AssetExecutionContext, opmetrics: OpmetricsResource) -> Iterator[MaterializeResult]:
    with opmetrics.connect() as con:
        counts = write_catalog(con, opmetrics.catalog)
    context.log.info("catalog: %s", counts)
    for table in CATALOG_TABLES:
        yield MaterializeResult(
            asset_key=AssetKey(["raw_catalog", table]), metadata={"dagster/row_count": counts[table]}
        )
