"""Merging pages into a raw table: updates replace, identical copies collapse, conflicting versions are both kept."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import duckdb
import numpy as np
import pytest

from connectors.base import Record
from orchestration.raw.rows import to_row
from orchestration.warehouse import WrittenKeys, ensure_raw_table, merge_records, merge_rows

CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TABLE = "raw_test.incidents"
# Each sync's `WrittenKeys`, when the tests merge as `sync_source` does: one for a sync that finds the table empty.
WRITTEN: dict[str, WrittenKeys | None] | None = None


def incident(pk: str, status: str, updated_at: str = "2026-01-01T10:00:00Z") -> Record:
    return Record(pk, CREATED, {}, {"id": pk, "status": status, "updated_at": updated_at})


@pytest.fixture(params=["searching the table", "with the keys a first sync wrote"])
def con(request: pytest.FixtureRequest) -> Iterator[duckdb.DuckDBPyConnection]:
    """Every merge test runs both ways: `WrittenKeys` must never change what lands."""
    global WRITTEN
    WRITTEN = {} if request.param == "with the keys a first sync wrote" else None
    con = duckdb.connect()
    ensure_raw_table(con, "test", "incidents")
    yield con
    con.close()
    WRITTEN = None


def rows(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """_pk -> status of every row."""
    found = con.execute(f"select _pk, payload::varchar from {TABLE} order by _pk").fetchall()
    return {pk: json.loads(payload)["status"] for pk, payload in found}


def merge(
    con: duckdb.DuckDBPyConnection, records: list[Record], sync_id: str = "s1", version: str | None = "updated_at"
) -> int:
    if WRITTEN is None:
        return merge_records(con, TABLE, records, sync_id, version)
    if sync_id not in WRITTEN:
        empty = con.execute(f"select not exists (select 1 from {TABLE})").fetchall() == [(True,)]
        WRITTEN[sync_id] = WrittenKeys() if empty else None
    return merge_rows(con, TABLE, [to_row(r, version) for r in records], sync_id, version, WRITTEN[sync_id])


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


def test_one_conflicting_version_delivered_twice_in_a_page_is_one_row(con: duckdb.DuckDBPyConnection) -> None:
    merge(con, [incident("A", "resolved"), incident("A", "triggered"), incident("A", "triggered")])
    found = con.execute(f"select _pk, count(*) from {TABLE} group by _pk order by _pk").fetchall()
    assert [n for _, n in found] == [1, 1] and found[0][0] == "A" and found[1][0].startswith("conflict:A:")


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


def loads(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[dt.datetime, str]]:
    """_pk -> (_loaded_at, _sync_id) of every row."""
    found = con.execute(f"select _pk, _loaded_at, _sync_id from {TABLE} order by _pk").fetchall()
    return {pk: (loaded_at, sync) for pk, loaded_at, sync in found}


def test_a_record_delivered_again_unchanged_keeps_its_load_time_and_takes_the_new_sync(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """dbt's incremental models read what `_loaded_at` says is new: a lookback's re-read of the same records is not."""
    merge(con, [incident("A", "triggered"), incident("B", "triggered")], "first")
    before = loads(con)
    merge(con, [incident("A", "triggered"), incident("B", "resolved", "2026-01-01T11:00:00Z")], "second")
    after = loads(con)
    assert after["A"] == (before["A"][0], "second")
    assert after["B"][0] > before["B"][0] and after["B"][1] == "second"
    assert rows(con) == {"A": "triggered", "B": "resolved"}


def test_an_unchanged_record_then_other_content_of_its_version_in_the_same_sync_still_conflicts(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The unchanged row took the sync's id, so the later page is a conflict; its load time moves so dbt types both."""
    merge(con, [incident("A", "resolved")], "first")
    first_load = loads(con)["A"][0]
    merge(con, [incident("A", "resolved")], "second")
    merge(con, [incident("A", "triggered")], "second")
    found = loads(con)
    assert found.pop("A")[0] > first_load
    assert [pk.startswith("conflict:A:") for pk in found] == [True]
    assert {sync for _, sync in loads(con).values()} == {"second"}


def test_an_unchanged_record_and_other_content_of_its_version_in_one_page_conflict_and_are_both_typed_again(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Both versions carry the sync's id and a load time dbt has not read, as when the record was written again."""
    merge(con, [incident("A", "resolved")], "first")
    first_load = loads(con)["A"][0]
    merge(con, [incident("A", "resolved"), incident("A", "triggered")], "second")
    found = loads(con)
    assert len(found) == 2 and all(loaded > first_load and sync == "second" for loaded, sync in found.values())


def test_a_record_with_a_conflicting_version_delivered_again_is_written_again(con: duckdb.DuckDBPyConnection) -> None:
    """A later sync's delivery settles a conflict, in dbt too (it pairs the versions by `_sync_id`)."""
    merge(con, [incident("A", "resolved")], "first")
    merge(con, [incident("A", "triggered")], "first")
    before = loads(con)
    merge(con, [incident("A", "resolved"), incident("A", "triggered")], "second")
    after = loads(con)
    assert after.keys() == before.keys() and len(after) == 2
    assert all(after[pk][0] > before[pk][0] and after[pk][1] == "second" for pk in after)


def test_without_a_version_field_any_other_content_in_one_sync_conflicts(con: duckdb.DuckDBPyConnection) -> None:
    merge(con, [incident("A", "resolved")], "s1", None)
    merge(con, [incident("A", "triggered", "2026-01-02T00:00:00Z")], "s1", None)
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


def test_written_keys_answer_certainly_not_for_keys_never_added() -> None:
    written = WrittenKeys()
    assert not written.may_hold_any(["A"])
    written.add(["B", "A", "B"])
    written.add(["A", "C"])
    assert len(written) == 3
    assert written.may_hold_any(["X", "C"])
    assert not written.may_hold_any(["X", "Y", ""])
    assert not written.may_hold_any([])


def test_with_written_keys_a_first_sync_searches_the_table_only_for_a_key_it_wrote_before() -> None:
    """The scan is what `WrittenKeys` saves: a page of new keys skips it, a key delivered again does not."""
    con = duckdb.connect()
    ensure_raw_table(con, "test", "incidents")
    searches: list[str] = []

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(con, name)

        def execute(self, query: str, *args: object) -> duckdb.DuckDBPyConnection:
            if query.startswith("select _pk, _sync_id"):
                searches.append(query)
            return con.execute(query, *args)

    written = WrittenKeys()
    spy = Spy()
    for page in (["A", "B"], ["C"], ["D", "A"]):
        rows = [to_row(incident(pk, "triggered"), "updated_at") for pk in page]
        merge_rows(spy, TABLE, rows, "s1", "updated_at", written)  # type: ignore[arg-type]
    assert len(searches) == 1  # the third page, which delivers A again
    assert sorted(pk for (pk,) in con.execute(f"select _pk from {TABLE}").fetchall()) == ["A", "B", "C", "D"]
    con.close()


def test_keys_sharing_a_hash_are_searched_for_and_merge_alike(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every key hashing alike is the worst case: every page searches the table, and the rows are the same."""
    monkeypatch.setattr(WrittenKeys, "_hash", staticmethod(lambda keys: np.zeros(len(keys), dtype=np.int64)))
    merge(con, [incident("A", "triggered"), incident("B", "triggered")])
    merge(con, [incident("C", "triggered"), incident("A", "resolved", "2026-01-01T12:00:00Z")])
    merge(con, [incident("B", "acknowledged")])  # same version, other content: a conflict
    found = rows(con)
    assert {pk: status for pk, status in found.items() if not pk.startswith("conflict:")} == {
        "A": "resolved",
        "B": "triggered",
        "C": "triggered",
    }
    assert [status for pk, status in found.items() if pk.startswith("conflict:B:")] == ["acknowledged"]
