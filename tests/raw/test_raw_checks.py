"""The blocking raw checks, on small hand-made raw tables."""

from __future__ import annotations

import dataclasses
from datetime import date

import duckdb
import pytest

from connectors.base import CheckLimits, Record, Stream
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


def fields_check(con: duckdb.DuckDBPyConnection, stream: Stream = STREAM) -> tuple[bool, dict]:
    results = evaluate_raw_checks(con, "github", stream, KEY, AS_OF, GithubConnector.check_limits(STREAM))
    (result,) = [r for r in results if r.check_name == "required_fields_present"]
    return result.passed, {k: v.value for k, v in result.metadata.items()}


def missing_sha(con: duckdb.DuckDBPyConnection) -> tuple[bool, int, int]:
    """The fields check's outcome: passed, rows missing `sha`, rows it read."""
    passed, metadata = fields_check(con)
    return passed, metadata["missing_sha"], metadata["rows_read"]


def test_required_fields_are_read_once_per_row_while_they_pass(con: duckdb.DuckDBPyConnection) -> None:
    table = "raw_github.deployments"
    merge_records(con, table, [deployment(i) for i in range(5)], "s1")
    assert missing_sha(con) == (True, 0, 5)
    merge_records(con, table, [deployment(5), deployment(6)], "s2")
    assert fields_check(con)[1]["rows_read"] == 2
    assert fields_check(con)[1]["rows_read"] == 0


def test_a_failed_fields_check_reads_its_rows_again_until_they_are_replaced(con: duckdb.DuckDBPyConnection) -> None:
    table = "raw_github.deployments"
    merge_records(con, table, [deployment(1)], "s1")
    assert fields_check(con)[0] is True
    merge_records(con, table, [deployment(2, sha=None)], "s2")
    assert missing_sha(con) == (False, 1, 1)
    # A later good load does not hide the bad row loaded before it: the next check still reads and fails it.
    merge_records(con, table, [deployment(3)], "s3")
    assert missing_sha(con) == (False, 1, 2)
    # The source delivers the record again, now whole: the merge replaces the bad version and the check passes.
    merge_records(con, table, [deployment(2)], "s4")
    assert missing_sha(con) == (True, 0, 2)


def test_a_newly_required_field_is_checked_on_every_row(con: duckdb.DuckDBPyConnection) -> None:
    merge_records(con, "raw_github.deployments", [deployment(i) for i in range(3)] + [deployment(3, ref=None)], "s")
    assert fields_check(con)[0] is True
    stricter = dataclasses.replace(STREAM, required_fields=(*STREAM.required_fields, "ref"))
    passed, metadata = fields_check(con, stricter)
    assert (passed, metadata["missing_ref"], metadata["rows_read"]) == (False, 4, 4)


def test_a_stream_without_required_fields_passes(con: duckdb.DuckDBPyConnection) -> None:
    merge_records(con, "raw_github.deployments", [deployment(1, sha=None)], "s")
    assert fields_check(con, dataclasses.replace(STREAM, required_fields=("id",)))[0] is True
