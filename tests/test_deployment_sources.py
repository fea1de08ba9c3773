"""The same history through four deployment sources gives the same facts and the same Table 1.

The sample organisation renders one service history through GitHub Deployments, GitHub Actions (runs and re-runs),
GitLab (code and deployments) and Jenkins (builds); each rendering runs through the whole pipeline. Apart from the
source, identifiers and what only one source can tell (environment names, refs), every production deployment,
every change and every figure of the comparison must be the same.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import run_daily, serve_sample

END = dt.date(2026, 6, 30)
SOURCES = ("github", "github_actions", "gitlab", "jenkins")

# Jenkins records when a build was scheduled to the millisecond, the others when a deployment was requested to the
# second: the request time is compared to the second, the deployment time exactly.
DEPLOYMENTS = """
    select service, sha, status, counts_as_deployment, date_trunc('second', created_at), deployed_at, operating_model,
           n_changes,
           median_deployment_lead_time_hours, median_lead_time_for_changes_hours, n_attributed_incidents
    from marts.fct_deployments
    where is_production
"""
CHANGES = """
    select service, change_type, title, merged_at, first_commit_at, n_commits, is_shipped, deployed_at,
           operating_model, deployment_lead_time_hours, lead_time_for_changes_hours
    from marts.fct_changes
"""
# Money summed over other identifiers adds up in another order: the same cost can differ in its last bits.
COMPARISON = (
    "select measure, operating_model, round(value, 6) as value, band, n_services, n_events"
    " from marts.operating_model_comparison"
)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One warehouse per rendering of the same organisation."""
    out = {}
    for source in SOURCES:
        tmp = tmp_path_factory.mktemp(source)
        saved = dict(os.environ)  # a run leaves its warehouse in the environment: each starts from a clean one
        try:
            os.environ.update(DAGSTER_HOME=str(tmp / "dagster_home"), OPMETRICS_AS_OF=END.isoformat())
            with serve_sample(4, 120, 21, END, config_dir=tmp, deployment_source=source) as config:
                os.environ["OPMETRICS_CONFIG"] = str(config)
                # the marts' equivalence is what this module pins: the checks run in every other end-to-end test
                assert run_daily(checks=False), f"daily_refresh failed through {source}"
        finally:
            os.environ.clear()
            os.environ.update(saved)
        out[source] = tmp / "warehouse.duckdb"
    return out


def rows(warehouse: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return sorted(con.execute(query).fetchall(), key=repr)


def test_every_rendering_reads_its_own_source(warehouses: dict[str, Path]) -> None:
    for source, warehouse in warehouses.items():
        found = rows(warehouse, "select distinct source from marts.fct_deployments where counts_as_deployment")
        assert found == [(source,)], f"{source}: deployments from {found}"


@pytest.mark.parametrize("source", SOURCES[1:])
def test_production_deployments_are_the_same(warehouses: dict[str, Path], source: str) -> None:
    github = rows(warehouses["github"], DEPLOYMENTS)
    assert github and any(r[3] for r in github) and any(r[2] == "failure" for r in github), "a rich enough history"
    assert rows(warehouses[source], DEPLOYMENTS) == github


@pytest.mark.parametrize("source", SOURCES[1:])
def test_changes_and_their_lead_times_are_the_same(warehouses: dict[str, Path], source: str) -> None:
    github = rows(warehouses["github"], CHANGES)
    assert {r[1] for r in github} >= {"merge", "squash", "rebase"}, "every merge strategy is rendered"
    assert rows(warehouses[source], CHANGES) == github


@pytest.mark.parametrize("source", SOURCES[1:])
def test_the_comparison_is_the_same(warehouses: dict[str, Path], source: str) -> None:
    assert rows(warehouses[source], COMPARISON) == rows(warehouses["github"], COMPARISON)
