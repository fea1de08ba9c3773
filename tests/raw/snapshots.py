"""Compare warehouses: the raw tables as a clean run would leave them, row for row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.base import Connector
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.warehouse import connect


def sync_into(db: Path, connector: Connector, options: SyncOptions | None = None, sync_id: str = "test") -> None:
    """One `sync_source` run of `connector` into the warehouse file `db`."""
    with connect(db) as con:
        sync_source(con, connector, options or SyncOptions(), sync_id)


def raw_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every raw table's rows as (_pk, _cursor, _context, payload), ordered by key.

    `_loaded_at` and `_sync_id` say when and by which run a row was merged, so they differ between two runs
    that land the same data; they are left out.
    """
    with connect(db, read_only=True) as con:
        tables = con.execute(
            """select table_schema || '.' || table_name from information_schema.tables
               where table_schema like 'raw\\_%' escape '\\' and table_schema <> 'raw_state'
               order by 1"""
        ).fetchall()
        return {
            table: con.execute(
                f"select _pk, _cursor, _context::varchar, payload::varchar from {table} order by _pk"
            ).fetchall()
            for (table,) in tables
        }


def row_counts(db: Path) -> dict[str, int]:
    return {table: len(rows) for table, rows in raw_rows(db).items()}
