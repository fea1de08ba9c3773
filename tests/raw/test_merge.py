"""Merging pages into a raw table: updates replace, identical copies collapse, conflicting versions are both kept."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import duckdb
import pytest

from connectors.base import Record
from orchestration.warehouse import ensure_raw_table, merge_records

CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TABLE = "raw_test.incidents"


def incident(pk: str, status: str, updated_at: str = "2026-01-01T10:00:00Z") -> Record:
    return Record(pk, CREATED, {}, {"id": pk, "status": status, "updated_at": updated_at})


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    ensure_raw_table(con, "test", "incidents")
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """_pk -> status of every row."""
    found = con.execute(f"select _pk, payload::varchar from {TABLE} order by _pk").fetchall()
    return {pk: json.loads(payload)["status"] for pk, payload in found}


def merge(con: duckdb.DuckDBPyConnection, records: list[Record], sync_id: str = "s1") -> int:
    return merge_records(con, TABLE, records, sync_id, "updated_at")


def test_identical_copies_collapse_into_one_row(con: duckdb.DuckDBPyConnection) -> None:
    merge(con, [incident("A", "resolved"), incident("A", "resolved")])
    merge(con, [incident("A", "resolved")])
    assert rows(con) == {"A": "resolved"}


def test_a_newer_version_replaces_the_older_within_a_sync_and_across_syncs(con: duckdb.DuckDBPyConnection) -> None:
    merge(con, [incident("A", "triggered"), incident("A", "acknowledged", "2026-01-01T11:00:00Z")])
    merge(con, [incident("A", "resolved", "2026-01-01T12:00:00Z")])
    assert rows(con) == {"A": "resolved"}


def test_same_version_with_other_content_in_one_page_keeps_both(con: duckdb.DuckDBPyConnection) -> None:
    merge(con, [incident("A", "resolved"), incident("B", "resolved"), incident("A", "triggered")])
    found = rows(con)
    conflict = [pk for pk in found if pk.startswith("conflict:A:")]
    assert found["A"] == "resolved" and found["B"] == "resolved"
    assert len(conflict) == 1 and found[conflict[0]] == "triggered"


def test_same_version_with_other_content_on_a_later_page_keeps_both(con: duckdb.DuckDBPyConnection) -> None:
    merge(con, [incident("A", "resolved")])
    merge(con, [incident("A", "triggered")])
    merge(con, [incident("A", "triggered")])  # the same conflicting version again: still one conflict row
    found = rows(con)
    assert found.pop("A") == "resolved"
    assert list(found.values()) == ["triggered"] and next(iter(found)).startswith("conflict:A:")


def test_a_later_sync_with_other_content_is_an_update_not_a_conflict(con: duckdb.DuckDBPyConnection) -> None:
    """How a re-run or a resumed sync re-reads what an earlier one landed."""
    merge(con, [incident("A", "resolved")], "first")
    merge(con, [incident("A", "triggered")], "second")
    assert rows(con) == {"A": "triggered"}


def test_without_a_version_field_any_other_content_in_one_sync_conflicts(con: duckdb.DuckDBPyConnection) -> None:
    merge_records(con, TABLE, [incident("A", "resolved")], "s1")
    merge_records(con, TABLE, [incident("A", "triggered", "2026-01-02T00:00:00Z")], "s1")
    assert sorted(rows(con).values()) == ["resolved", "triggered"]


def test_a_key_merged_again_and_again_stays_one_row(con: duckdb.DuckDBPyConnection) -> None:
    """The table has no key index: the merge alone keeps `_pk` unique, across pages and syncs."""
    for sync in ("s1", "s2", "s3"):
        merge(con, [incident("A", "triggered"), incident("B", "triggered")], sync)
        merge(con, [incident("A", "resolved", "2026-01-01T12:00:00Z")], sync)
    found = con.execute(f"select _pk, count(*) from {TABLE} group by _pk order by _pk").fetchall()
    assert found == [("A", 1), ("B", 1)]
    assert rows(con) == {"A": "resolved", "B": "triggered"}


def test_a_table_from_before_unindexed_keys_is_rebuilt_with_its_rows() -> None:
    con = duckdb.connect()
    con.execute("create schema raw_test")
    con.execute(
        f"create table {TABLE} (_pk varchar primary key, _cursor timestamptz, _context json, payload json not null,"
        " _loaded_at timestamptz not null, _sync_id varchar not null)"
    )
    merge(con, [incident("A", "triggered")], "old")
    ensure_raw_table(con, "test", "incidents")
    constraints = con.execute(
        "select constraint_type from duckdb_constraints() where table_name = 'incidents' order by 1"
    ).fetchall()
    assert constraints == [("NOT NULL",), ("NOT NULL",), ("NOT NULL",), ("NOT NULL",)]
    merge(con, [incident("A", "resolved", "2026-01-01T12:00:00Z")], "new")
    assert rows(con) == {"A": "resolved"}
    con.close()
