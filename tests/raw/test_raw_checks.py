"""The blocking raw checks, on small hand-made raw tables."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from connectors.base import CheckLimits, Record
from connectors.github import GithubConnector
from connectors.pagerduty import PagerdutyConnector
from orchestration.raw.assets import raw_asset_key
from orchestration.raw.checks import evaluate_raw_checks
from orchestration.warehouse import ensure_raw_table, ensure_state_table, merge_records

STREAM = GithubConnector.stream("deployments")
KEY = raw_asset_key("github", "deployments")
AS_OF = date(2026, 6, 30)


def deployment(i: int, **overrides: object) -> Record:
    payload = {"id": i, "sha": f"{i:040x}", "environment": "production", "created_at": "2026-06-29T10:00:00Z"}
    payload.update(overrides)
    return STREAM.to_record(payload, {"repo": "acme/shop"})


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_raw_table(con, "github", "deployments")
    ensure_state_table(con)
    return con


def outcome(con: duckdb.DuckDBPyConnection, limits: CheckLimits | None = None) -> dict[str, tuple[bool, str]]:
    limits = limits or GithubConnector.check_limits(STREAM)
    results = evaluate_raw_checks(con, "github", STREAM, KEY, AS_OF, limits)
    return {r.check_name: (r.passed, r.severity.value) for r in results}


def test_a_good_load_passes(con: duckdb.DuckDBPyConnection) -> None:
    merge_records(con, "raw_github.deployments", [deployment(i) for i in range(5)], "s")
    assert all(passed for passed, _ in outcome(con).values())


def test_missing_required_field_fails(con: duckdb.DuckDBPyConnection) -> None:
    merge_records(con, "raw_github.deployments", [deployment(1), deployment(2, sha=None)], "s")
    assert outcome(con)["required_fields_present"] == (False, "ERROR")


def test_unparseable_timestamps_fail_past_the_share(con: duckdb.DuckDBPyConnection) -> None:
    merge_records(con, "raw_github.deployments", [deployment(1), deployment(2, created_at="yesterday")], "s")
    assert outcome(con)["timestamps_parse"] == (False, "ERROR")


def test_stale_source_warns_without_blocking(con: duckdb.DuckDBPyConnection) -> None:
    merge_records(con, "raw_github.deployments", [deployment(1, created_at="2025-01-01T00:00:00Z")], "s")
    assert outcome(con)["fresh"] == (False, "WARN")


def test_an_empty_table_warns_and_a_sharp_drop_fails(con: duckdb.DuckDBPyConnection) -> None:
    # Empty may be right (a repository deploying from CI records no GitHub Deployments); losing most rows is not.
    assert outcome(con)["row_count"] == (False, "WARN")
    merge_records(con, "raw_github.deployments", [deployment(i) for i in range(10)], "s")
    assert outcome(con)["row_count"][0] is True
    con.execute("delete from raw_github.deployments where _pk::int > 2")
    assert outcome(con)["row_count"] == (False, "ERROR")


def test_limits_come_from_the_declaration_and_the_catalog_overrides_them(con: duckdb.DuckDBPyConnection) -> None:
    # GitHub declares 14 days of freshness; PagerDuty keeps the default of 30; the catalog may say otherwise.
    assert GithubConnector.check_limits(STREAM).freshness_days == 14
    assert PagerdutyConnector.check_limits(PagerdutyConnector.streams[0]).freshness_days == 30
    settings = GithubConnector.settings_model.model_validate(
        {"api_url": "https://api.github.com", "checks": {"freshness_days": 400}}
    )
    limits = GithubConnector.check_limits(STREAM, settings)
    assert (limits.freshness_days, limits.max_row_drop_share) == (400, 0.5)
    merge_records(con, "raw_github.deployments", [deployment(1, created_at="2025-09-01T00:00:00Z")], "s")
    assert outcome(con)["fresh"] == (False, "WARN")
    assert outcome(con, limits)["fresh"] == (True, "WARN")
