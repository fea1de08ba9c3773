"""The Great Expectations suites on small marts: they read only the columns they validate, and still catch a value
out of range."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.quality.gx_checks import prepare, read_marts, suite_result
from orchestration.quality.suites import SUITES, MartSuite
from orchestration.warehouse import connect


class _Warehouse:
    """The one thing `read_marts` asks of the Dagster resource: a read-only connection to the warehouse."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.path, read_only=read_only) as con:
            yield con


def _suite(name: str) -> MartSuite:
    return next(s for s in SUITES if s.table == f"marts.{name}")


def _mart(path: Path, suite: MartSuite, rows: list[dict[str, object]]) -> None:
    """`suite`'s mart with the columns it reads, one it does not (`unread`), and `rows` (others 1.0)."""
    columns = [*suite.columns, "unread"]
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        types = {c: "varchar" if c in ("unit", "measure", "operating_model") else "double" for c in columns}
        con.execute(f"create or replace table {suite.table} ({', '.join(f'{c} {types[c]}' for c in columns)})")
        con.executemany(
            f"insert into {suite.table} values ({', '.join('?' for _ in columns)})",
            [[row.get(c, 1.0) for c in columns] for row in rows],
        )


def test_a_weekly_suite_reads_its_columns_and_catches_a_value_out_of_range(tmp_path: Path) -> None:
    suite = _suite("service_reliability")
    warehouse = tmp_path / "w.duckdb"
    _mart(warehouse, suite, [{"availability_pct": 99.5}, {"availability_pct": 100.0}])
    frames, previous = read_marts(_Warehouse(warehouse), [suite])
    assert list(frames[suite.table].columns) == list(suite.columns) and previous == {}
    assert suite_result(suite, frames[suite.table]).passed

    _mart(warehouse, suite, [{"availability_pct": 99.5}, {"availability_pct": 150.0}])
    frames, _ = read_marts(_Warehouse(warehouse), [suite])
    result = suite_result(suite, frames[suite.table])
    assert not result.passed
    failed = result.metadata["failed_expectations"].value
    assert list(failed) == ["expect_column_values_to_be_between(availability_pct)"]


@pytest.mark.parametrize(("unit", "passes"), [("percent", False), ("hours", True)])
def test_the_comparison_suite_derives_its_columns_from_the_ones_it_reads(
    tmp_path: Path, unit: str, passes: bool
) -> None:
    """A value of 150 is out of range as a percentage and fine as hours: the unit read beside it decides."""
    suite = _suite("operating_model_comparison")
    warehouse = tmp_path / "w.duckdb"
    measures = suite.coverage["measure"]
    models = suite.coverage["operating_model"]
    rows = [{"measure": m, "operating_model": o, "unit": "hours", "value": 2.0} for m in measures for o in models]
    rows[0] |= {"unit": unit, "value": 150.0}
    _mart(warehouse, suite, rows)
    frames, _ = read_marts(_Warehouse(warehouse), [suite])
    assert set(frames[suite.table].columns) == {"measure", "operating_model", "unit", "value"}
    assert suite_result(suite, frames[suite.table]).passed is passes


def test_every_suite_validates_only_what_it_reads_or_derives() -> None:
    """`prepare` turns the columns a suite reads into every column its expectations name."""
    for suite in SUITES:
        frame = prepare(suite, pd.DataFrame({c: pd.Series(dtype="object") for c in suite.columns}))
        validated = {r.column for r in suite.ranges} | set(suite.coverage)
        assert validated <= set(frame.columns), suite.table
