"""publish_snapshot: only the marts, the same data, DuckDB 1.5 storage, Parquet beside it, atomic replacement."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
import pytest

from orchestration.serving import publish
from orchestration.serving.paths import serving_paths
from orchestration.serving.publish import PublishedSnapshot, TableDoc, publish_snapshot, published_tables
from tests.serving.fixtures import build_warehouse, file_fingerprint, fingerprint


def _schemas(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select distinct table_schema from information_schema.tables").fetchall()
    finally:
        con.close()
    return {schema for (schema,) in rows}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if p.name.endswith(".tmp") or ".tmp" in p.name)


def test_snapshot_holds_the_marts_and_nothing_else(warehouse: Path, published: PublishedSnapshot) -> None:
    assert {"raw_github", "staging", "intermediate", "quarantine", "seeds", "marts"} <= _schemas(warehouse)
    assert _schemas(published.snapshot) == {"marts"}
    assert file_fingerprint(published.snapshot) == file_fingerprint(warehouse)
    assert published.row_counts["marts.fct_changes"] == 144
    assert set(published.row_counts) == {f"{s}.{t}" for s, t in published_tables(warehouse)}


def test_snapshot_keeps_column_types(warehouse: Path, published: PublishedSnapshot) -> None:
    query = "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"
    columns = {}
    for path in (warehouse, published.snapshot):
        con = duckdb.connect(str(path), read_only=True)
        columns[path] = sorted(con.execute(query).fetchall())
        con.close()
    assert columns[warehouse] == columns[published.snapshot]


def test_snapshot_is_readable_by_duckdb_1_5(published: PublishedSnapshot) -> None:
    """The file's storage version is 1.5's; tests/serving/test_bi_clients.py opens it with a real 1.5 CLI."""
    con = duckdb.connect(str(published.snapshot), read_only=True)
    try:
        tags = con.execute("select tags from duckdb_databases() where database_name = 'opmetrics'").fetchone()[0]
    finally:
        con.close()
    assert tags["storage_version"].startswith("v1.5")


def test_parquet_has_one_file_per_mart_with_the_same_rows(warehouse: Path, published: PublishedSnapshot) -> None:
    folder = warehouse.parent / "parquet"
    assert sorted(p.relative_to(folder).as_posix() for p in published.parquet_files) == sorted(
        f"marts/{t}.parquet" for _, t in published_tables(warehouse)
    )
    con = duckdb.connect()
    for file in published.parquet_files:
        table = f"marts.{file.stem}"
        assert (
            con.execute("select count(*) from read_parquet(?)", [str(file)]).fetchone()[0]
            == (published.row_counts[table])
        )


def test_republishing_replaces_the_file_and_drops_parquet_of_tables_gone(warehouse: Path, tmp_path: Path) -> None:
    snapshot, parquet = tmp_path / "out" / "opmetrics.duckdb", tmp_path / "out" / "parquet"
    publish_snapshot(warehouse, snapshot, parquet_dir=parquet)
    before = snapshot.stat().st_ino
    reader = duckdb.connect(str(snapshot), read_only=True)  # a BI session that is open during the publish
    old = fingerprint(reader)

    newer = build_warehouse(tmp_path / "newer.duckdb", version=1)
    # What a publish killed half way leaves behind; the next publish clears it.
    (tmp_path / "out" / ".opmetrics.duckdb.0123456789ab.tmp").write_bytes(b"half")
    (tmp_path / "out" / ".parquet.0123456789ab.tmp" / "marts").mkdir(parents=True)
    publish_snapshot(newer, snapshot, tables=[("marts", "dim_services"), ("marts", "fct_changes")], parquet_dir=parquet)

    assert snapshot.stat().st_ino != before, "the snapshot was rewritten in place instead of replaced"
    assert fingerprint(reader) == old, "a reader that had the old snapshot open must keep reading it whole"
    reader.close()
    assert [t for t, *_ in file_fingerprint(snapshot)] == ["dim_services", "fct_changes"]
    assert sorted(p.name for p in (parquet / "marts").iterdir()) == ["dim_services.parquet", "fct_changes.parquet"]
    assert _leftovers(tmp_path / "out") == []
    assert not Path(f"{snapshot}.wal").exists()


def test_a_failed_publish_leaves_the_old_snapshot_and_parquet_untouched(warehouse: Path, tmp_path: Path) -> None:
    snapshot, parquet = tmp_path / "out" / "opmetrics.duckdb", tmp_path / "out" / "parquet"
    publish_snapshot(warehouse, snapshot, parquet_dir=parquet)
    inode, old = snapshot.stat().st_ino, file_fingerprint(snapshot)
    parquet_files = {p: p.stat().st_mtime_ns for p in parquet.rglob("*.parquet")}

    with pytest.raises(duckdb.CatalogException):
        tables = [("marts", "dim_services"), ("marts", "missing")]
        publish_snapshot(warehouse, snapshot, tables=tables, parquet_dir=parquet)

    assert snapshot.stat().st_ino == inode
    assert file_fingerprint(snapshot) == old
    assert {p: p.stat().st_mtime_ns for p in parquet.rglob("*.parquet")} == parquet_files
    assert _leftovers(tmp_path / "out") == []


@pytest.mark.timeout(120)  # a copy that failed without stopping the export would wait for it forever
@pytest.mark.parametrize("failing", ["copy", "export"])
def test_a_publish_whose_copy_or_export_fails_stops_both_and_changes_nothing(
    failing: str, warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Parquet export runs beside the copy: a failure of either fails the publish, with the other stopped, the
    old snapshot and Parquet files as they were and no temporary file left."""
    snapshot, parquet = tmp_path / "out" / "opmetrics.duckdb", tmp_path / "out" / "parquet"
    publish_snapshot(warehouse, snapshot, parquet_dir=parquet)
    old = file_fingerprint(snapshot)
    parquet_files = {p: p.stat().st_mtime_ns for p in parquet.rglob("*.parquet")}
    export = publish._export_parquet
    started = threading.Event()

    def export_then(con: duckdb.DuckDBPyConnection, tables: list, tmp_parquet: Path) -> list[Path]:
        exported = export(con, tables[:1], tmp_parquet)  # one file written, then a failure or a long query
        started.set()
        if failing == "export":
            raise OSError("disk full")
        con.execute("select count(*) from range(1000000000000)")  # stopped by the failed copy, or never ends
        return exported

    def copy_fails(con: duckdb.DuckDBPyConnection, *args: object) -> None:
        started.wait(timeout=30)  # the export is running when the copy fails
        raise duckdb.IOException("no space left on device")

    monkeypatch.setattr(publish, "_export_parquet", export_then)
    if failing == "copy":
        monkeypatch.setattr(publish, "_comment", copy_fails)
    with pytest.raises(OSError if failing == "export" else duckdb.IOException):
        publish_snapshot(warehouse, snapshot, parquet_dir=parquet)

    assert file_fingerprint(snapshot) == old
    assert {p: p.stat().st_mtime_ns for p in parquet.rglob("*.parquet")} == parquet_files
    assert _leftovers(tmp_path / "out") == []


def test_dbt_descriptions_become_comments(warehouse: Path, tmp_path: Path) -> None:
    docs = {("marts", "dim_services"): TableDoc("One row per service.", {"service": "Service name.", "gone": "x"})}
    snapshot = tmp_path / "opmetrics.duckdb"
    publish_snapshot(warehouse, snapshot, tables=[("marts", "dim_services")], docs=docs)
    con = duckdb.connect(str(snapshot), read_only=True)
    assert con.execute("select comment from duckdb_tables() where table_name = 'dim_services'").fetchone() == (
        "One row per service.",
    )
    assert con.execute(
        "select comment from duckdb_columns() where table_name = 'dim_services' and column_name = 'service'"
    ).fetchone() == ("Service name.",)
    con.close()


def test_refuses_to_overwrite_the_warehouse_or_to_publish_nothing(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must not be the warehouse"):
        publish_snapshot(warehouse, warehouse)
    # DuckDB would call the database `marts`, like its schema: `marts.<table>` is then ambiguous to every reader.
    with pytest.raises(ValueError, match="ambiguous"):
        publish_snapshot(warehouse, tmp_path / "marts.duckdb")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ValueError, match="nothing to publish"):
        publish_snapshot(empty, tmp_path / "opmetrics.duckdb")
    with pytest.raises(FileNotFoundError):
        publish_snapshot(tmp_path / "absent.duckdb", tmp_path / "opmetrics.duckdb")


def test_serving_paths_default_beside_the_warehouse_and_can_be_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    monkeypatch.delenv("OPMETRICS_SNAPSHOT", raising=False)
    paths = serving_paths(warehouse)
    assert (paths.snapshot, paths.parquet_dir, paths.report) == (
        tmp_path / "data" / "opmetrics.duckdb",
        tmp_path / "data" / "parquet",
        tmp_path / "data" / "report.html",
    )
    monkeypatch.setenv("OPMETRICS_SNAPSHOT", str(tmp_path / "bi" / "opmetrics.duckdb"))
    assert serving_paths(warehouse).report == tmp_path / "bi" / "report.html"
    monkeypatch.setenv("OPMETRICS_SNAPSHOT", "published/marts.duckdb")
    assert serving_paths(warehouse).snapshot == tmp_path / "data" / "published" / "marts.duckdb"
    assert os.fspath(serving_paths(warehouse).parquet_dir).endswith("published/parquet")
