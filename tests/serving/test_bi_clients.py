"""The snapshot opened the ways docs/bi.md says: DuckDB 1.5's CLI, Python, and a SQLAlchemy engine (Superset's way).

The CLI is `duckdb-cli` from PyPI, pinned to 1.5: it proves the storage compatibility setting as well as the CLI
instructions. Outside CI a missing client skips its test, saying what to install; in CI it fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration.serving.publish import PublishedSnapshot
from tests.serving.conftest import require, venv_tool
from tests.serving.test_bi_doc import documented_queries

TABLE_1 = documented_queries()[0]


def _table_1_in_python(snapshot: Path) -> list[tuple]:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        return con.execute(TABLE_1).fetchall()
    finally:
        con.close()


def test_duckdb_1_5_cli_reads_the_snapshot(published: PublishedSnapshot) -> None:
    cli = require(venv_tool("duckdb"), "pip install duckdb-cli==1.5.6")
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v1.5."), f"this test must use a DuckDB 1.5 CLI to prove 1.5 readers: {version}"

    def cli_json(sql: str) -> list[dict]:
        done = subprocess.run(
            [str(cli), "-readonly", "-json", str(published.snapshot), "-c", sql],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout or "[]")

    tables = cli_json("select table_schema, table_name from information_schema.tables order by all")
    assert {(t["table_schema"]) for t in tables} == {"marts"}
    assert len(tables) == len(published.row_counts)
    rows = cli_json(TABLE_1)
    python = _table_1_in_python(published.snapshot)
    assert [r["measure"] for r in rows] == [r[0] for r in python]
    assert [r["ybiyri_value"] for r in rows] == pytest.approx([r[2] for r in python])
    assert [r["ops_band"] for r in rows] == [r[6] for r in python]


def test_python_reads_the_snapshot_and_cannot_write_it(published: PublishedSnapshot) -> None:
    con = duckdb.connect(str(published.snapshot), read_only=True)
    try:
        assert con.execute("select count(*) from marts.dim_services").fetchone() == (4,)
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("create table marts.scratch as select 1")
    finally:
        con.close()
    assert not Path(f"{published.snapshot}.wal").exists()


def test_sqlalchemy_engine_reads_the_snapshot(published: PublishedSnapshot) -> None:
    if importlib.util.find_spec("duckdb_engine") is None:
        message = "duckdb-engine is not installed: pip install duckdb-engine==0.17.0"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must install it)")
        pytest.skip(message)
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(f"duckdb:///{published.snapshot}", connect_args={"read_only": True})
    try:
        with engine.connect() as con:
            tables = inspect(con).get_table_names(schema="marts")
            rows = con.execute(text(TABLE_1)).all()
    finally:
        engine.dispose()
    assert sorted(tables) == sorted(name.split(".")[1] for name in published.row_counts)
    assert [tuple(r) for r in rows] == _table_1_in_python(published.snapshot)
