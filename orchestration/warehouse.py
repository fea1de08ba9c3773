"""Writes to the DuckDB warehouse: raw tables merged on their primary key, stream cursors, the service catalog.

Every page is one transaction, so a sync killed at any moment leaves whole pages; re-running it merges the
same records again (newest version wins) and the raw tables end identical to a clean run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import pandas as pd

from connectors.base import Record

STATE_TABLE = "raw_state.cursors"


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating its folder), and always close it: DuckDB allows one writer per file."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def raw_table(source: str, stream: str) -> str:
    return f"raw_{source}.{stream}"


def ensure_raw_table(con: duckdb.DuckDBPyConnection, source: str, stream: str) -> str:
    """Create `raw_<source>.<stream>` with the standard raw columns if it does not exist."""
    table = raw_table(source, stream)
    con.execute(f"create schema if not exists raw_{source}")
    con.execute(
        f"""create table if not exists {table} (
            _pk varchar primary key,
            _cursor timestamptz,
            _context json,
            payload json not null,
            _loaded_at timestamptz not null,
            _sync_id varchar not null
        )"""
    )
    return table


def merge_records(con: duckdb.DuckDBPyConnection, table: str, records: list[Record], sync_id: str) -> int:
    """Upsert one page of records on `_pk`; the last occurrence of a key wins. Returns rows written."""
    if not records:
        return 0
    latest = {r.pk: r for r in records}  # duplicates within a page: keep the last delivered version
    now = datetime.now(UTC)
    frame = pd.DataFrame(
        {
            "_pk": list(latest),
            "_cursor": pd.to_datetime([r.cursor for r in latest.values()], utc=True),
            "_context": [orjson.dumps(r.context, option=orjson.OPT_SORT_KEYS).decode() for r in latest.values()],
            "payload": [orjson.dumps(r.payload, option=orjson.OPT_SORT_KEYS).decode() for r in latest.values()],
        }
    )
    con.register("_page", frame)
    try:
        con.execute(
            f"""insert into {table}
                select _pk, _cursor, _context::json, payload::json, ?::timestamptz, ?
                from _page
                on conflict (_pk) do update set
                    _cursor = excluded._cursor,
                    _context = excluded._context,
                    payload = excluded.payload,
                    _loaded_at = excluded._loaded_at,
                    _sync_id = excluded._sync_id""",
            [now, sync_id],
        )
    finally:
        con.unregister("_page")
    return len(latest)


def ensure_state_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw_state")
    con.execute(
        f"""create table if not exists {STATE_TABLE} (
            source varchar, stream varchar, partition varchar,
            cursor timestamptz not null, updated_at timestamptz not null, sync_id varchar not null,
            primary key (source, stream, partition)
        )"""
    )


def load_cursors(con: duckdb.DuckDBPyConnection, source: str) -> dict[tuple[str, str], datetime]:
    """The stored cursor of each (stream, partition) of a source."""
    ensure_state_table(con)
    rows = con.execute(f"select stream, partition, cursor from {STATE_TABLE} where source = ?", [source]).fetchall()
    return {(stream, partition): cursor for stream, partition, cursor in rows}


def save_cursor(
    con: duckdb.DuckDBPyConnection, source: str, stream: str, partition: str, cursor: datetime, sync_id: str
) -> None:
    """Store a cursor; it only ever moves forward, so a backfill never rewinds the incremental position."""
    con.execute(
        f"""insert into {STATE_TABLE} values (?, ?, ?, ?, ?, ?)
            on conflict (source, stream, partition) do update set
                cursor = greatest(cursor, excluded.cursor),
                updated_at = excluded.updated_at,
                sync_id = excluded.sync_id""",
        [source, stream, partition, cursor, datetime.now(UTC), sync_id],
    )


def reset_cursors(con: duckdb.DuckDBPyConnection, source: str) -> None:
    ensure_state_table(con)
    con.execute(f"delete from {STATE_TABLE} where source = ?", [source])
