"""Publish the marts as a read-only snapshot (`opmetrics.duckdb`) plus one Parquet file per mart.

DuckDB lets one process write a file and blocks every other process meanwhile, so BI tools never open the working
warehouse. Each good run copies the marts into a new file next to the snapshot and renames it over the old one: the
rename is atomic on POSIX, so a reader opens either the whole old snapshot or the whole new one, never a half, and a
reader that already has the old one open keeps reading it (it holds the old inode) until it reconnects.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.warehouse import connect

# BI tools often embed an older DuckDB than ours (2.x): files written with this setting open in DuckDB 1.5 and later.
STORAGE_COMPATIBILITY_VERSION = "v1.5.0"
# The BI-facing contract: dbt puts every mart and dim in this schema; raw_*, staging, intermediate, seeds and any
# quarantine schema stay in the working warehouse.
PUBLISHED_SCHEMAS: tuple[str, ...] = ("marts",)


@dataclass(frozen=True)
class TableDoc:
    """The dbt description of a table and of its columns, written into the snapshot as comments."""

    description: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedSnapshot:
    """What one publish wrote."""

    snapshot: Path
    row_counts: Mapping[str, int]  # "marts.fct_deployments" -> rows
    parquet_files: tuple[Path, ...]
    size_bytes: int


def quote_ident(name: str) -> str:
    """A SQL identifier in double quotes, so any table or column name is safe to splice into a statement."""
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def database_name(path: Path) -> str:
    """The name DuckDB gives a database file: its name up to the first dot, leading dots dropped."""
    return path.name.lstrip(".").split(".")[0]


def check_snapshot_name(snapshot: Path) -> None:
    """Refuse a file named like a published schema (`marts.duckdb`).

    DuckDB names a database after its file, and a name that is both a database and a schema (case-insensitively)
    makes every two-part name ambiguous: with `marts.duckdb`, `select * from marts.fct_deployments` fails in DuckDB
    1.5 and 2.0 alike with "Ambiguous reference to catalog or schema", and so does every query a BI tool generates.
    """
    name = database_name(snapshot)
    if name.lower() in PUBLISHED_SCHEMAS:
        raise ValueError(
            f"the snapshot cannot be called {snapshot.name}: DuckDB would name its database {name!r}, like the schema "
            f"inside it, and every query of `{PUBLISHED_SCHEMAS[0]}.<table>` would be ambiguous; choose another file "
            "name (OPMETRICS_SNAPSHOT)"
        )


def published_tables(warehouse: Path, schemas: Sequence[str] = PUBLISHED_SCHEMAS) -> list[tuple[str, str]]:
    """The (schema, table) pairs of the warehouse that a snapshot holds: every table and view of `schemas`."""
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?::varchar[])) order by 1, 2",
            [list(schemas)],
        ).fetchall()
    return [(schema, table) for schema, table in rows]


def publish_snapshot(
    warehouse: Path,
    snapshot: Path,
    tables: Sequence[tuple[str, str]] | None = None,
    parquet_dir: Path | None = None,
    docs: Mapping[tuple[str, str], TableDoc] | None = None,
) -> PublishedSnapshot:
    """Copy `tables` (default: every table of the published schemas) of `warehouse` into `snapshot`, atomically.

    The copy is built in a temporary file in the snapshot's folder (the same file system, so the final rename is
    atomic), checkpointed, fsynced and only then renamed over the old snapshot. Parquet files (one per table, in
    `parquet_dir/<schema>/<table>.parquet`) are exported from the same tables while they are copied (the warehouse
    does not change meanwhile: a run is its only writer), then each is renamed into place after the snapshot. Any
    error before the rename leaves the old snapshot and Parquet files exactly as they were.
    """
    warehouse, snapshot = Path(warehouse).resolve(), Path(snapshot).resolve()
    if warehouse == snapshot:
        raise ValueError(f"the snapshot must not be the warehouse itself: {snapshot}")
    check_snapshot_name(snapshot)
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse not found: {warehouse}")
    selected = list(tables) if tables is not None else published_tables(warehouse)
    if not selected:
        raise ValueError(f"nothing to publish: no tables in schemas {', '.join(PUBLISHED_SCHEMAS)} of {warehouse}")

    snapshot.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(snapshot, parquet_dir)
    token = uuid.uuid4().hex[:12]
    # Hidden names, so a BI tool browsing the folder does not offer a half-written file.
    tmp = snapshot.with_name(f".{snapshot.name}.{token}.tmp")
    tmp_parquet = parquet_dir.with_name(f".{parquet_dir.name}.{token}.tmp") if parquet_dir else None
    try:
        row_counts, exported = _build(warehouse, tmp, selected, tmp_parquet, docs or {})
        _fsync(tmp)
        # A WAL left beside the snapshot by some process that opened it read-write would be replayed against the
        # new file; the snapshot is read-only by contract, so a stale one is garbage.
        with suppress(FileNotFoundError):
            os.remove(f"{snapshot}.wal")
        os.replace(tmp, snapshot)
        _fsync_dir(snapshot.parent)
    except BaseException:
        _remove(tmp, Path(f"{tmp}.wal"))
        if tmp_parquet is not None:
            _remove_tree(tmp_parquet)
        raise
    parquet_files = _swap_parquet(tmp_parquet, parquet_dir, exported) if parquet_dir and tmp_parquet else ()
    return PublishedSnapshot(snapshot, row_counts, parquet_files, snapshot.stat().st_size)


def _build(
    warehouse: Path,
    tmp: Path,
    tables: Sequence[tuple[str, str]],
    tmp_parquet: Path | None,
    docs: Mapping[tuple[str, str], TableDoc],
) -> tuple[dict[str, int], list[Path]]:
    """Write the snapshot's content into `tmp` (and Parquet files into `tmp_parquet`); returns row counts."""
    con = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION})
    row_counts: dict[str, int] = {}
    export: Future[list[Path]] | None = None
    exporter = con.cursor()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-export")
    try:
        # Three-part names throughout: the temporary file's database name must not matter (see check_snapshot_name).
        db = quote_ident(con.execute("select current_database()").fetchone()[0])
        con.execute(f"attach {_quote_literal(str(warehouse))} as source_warehouse (read_only)")
        if tmp_parquet is not None:
            # The Parquet files come from the same tables of the warehouse, on a second connection, while this one
            # copies them: most marts are too small for one statement to keep both cores busy.
            export = pool.submit(_export_parquet, exporter, tables, tmp_parquet)
        for schema, table in tables:
            name = f"{quote_ident(schema)}.{quote_ident(table)}"
            con.execute(f"create schema if not exists {db}.{quote_ident(schema)}")
            con.execute(f"create table {db}.{name} as select * from source_warehouse.{name}")
            row_counts[f"{schema}.{table}"] = con.execute(f"select count(*) from {db}.{name}").fetchone()[0]
            _comment(con, f"{db}.{name}", schema, table, docs.get((schema, table)))
        exported = export.result() if export is not None else []
        con.execute("detach source_warehouse")
        # Everything into the main file, so no WAL has to travel with it.
        con.execute("checkpoint")
    finally:
        # The copy failed: stop the export instead of waiting for it. Again until it has stopped, since an interrupt
        # that comes between two of its statements is lost.
        while export is not None and not export.done():
            exporter.interrupt()
            wait([export], timeout=0.05)
        pool.shutdown()
        exporter.close()
        con.close()
    return row_counts, exported


def _export_parquet(con: duckdb.DuckDBPyConnection, tables: Sequence[tuple[str, str]], tmp_parquet: Path) -> list[Path]:
    """Write each table of the attached `source_warehouse` to `tmp_parquet/<schema>/<table>.parquet`."""
    exported: list[Path] = []
    for schema, table in tables:
        folder = tmp_parquet / schema
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / f"{table}.parquet"
        exported.append(file)
        con.execute(
            f"copy source_warehouse.{quote_ident(schema)}.{quote_ident(table)} to {_quote_literal(str(file))} "
            "(format parquet, compression zstd)"
        )
    return exported


def _comment(con: duckdb.DuckDBPyConnection, target: str, schema: str, table: str, doc: TableDoc | None) -> None:
    """The dbt descriptions as table and column comments: DBeaver, Metabase and `duckdb_columns()` show them."""
    if doc is None:
        return
    if doc.description:
        con.execute(f"comment on table {target} is {_quote_literal(doc.description)}")
    present = {
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    for column, text in doc.columns.items():
        if column in present and text:
            con.execute(f"comment on column {target}.{quote_ident(column)} is {_quote_literal(text)}")


def _swap_parquet(tmp_parquet: Path, parquet_dir: Path, exported: Sequence[Path]) -> tuple[Path, ...]:
    """Rename each new Parquet file over the old one (each rename is atomic) and drop files of tables now gone."""
    placed: list[Path] = []
    for file in exported:
        final = parquet_dir / file.relative_to(tmp_parquet)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, final)
        placed.append(final)
    keep = set(placed)
    for stale in parquet_dir.glob("*/*.parquet"):
        if stale not in keep:
            stale.unlink(missing_ok=True)
    _remove_tree(tmp_parquet)
    return tuple(placed)


def _remove_leftovers(snapshot: Path, parquet_dir: Path | None) -> None:
    """Delete the temporary files of a publish that was killed half way.

    Runs never overlap (one warehouse writer at a time, dagster.yaml queues runs), so any temporary file here now
    belongs to no live publish.
    """
    for path in snapshot.parent.glob(f".{snapshot.name}.*.tmp*"):
        path.unlink(missing_ok=True)
    if parquet_dir is not None:
        for folder in parquet_dir.parent.glob(f".{parquet_dir.name}.*.tmp"):
            _remove_tree(folder)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    with suppress(OSError):
        _fsync(path)


def _remove(*paths: Path) -> None:
    for path in paths:
        with suppress(FileNotFoundError):
            path.unlink()


def _remove_tree(folder: Path) -> None:
    if not folder.exists():
        return
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()
