"""The CLI's run summary: check outcomes by label, and the rows each layer stores."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.quality.summary import CheckOutcome, format_summary, layer_row_counts


def test_rows_are_counted_in_tables_not_by_running_views(tmp_path: Path) -> None:
    # A view's count would run its query (staging's join millions of rows at scale): only stored rows count.
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for schema in ("raw_github", "raw_state", "staging", "marts"):
            con.execute(f"create schema {schema}")
        con.execute("create table raw_github.deployments as select range as id from range(5)")
        con.execute("create table raw_state.cursors as select range as id from range(7)")
        con.execute("create table staging.base_github__deployments as select * from raw_github.deployments")
        con.execute("create view staging.stg_github__deployments as select * from staging.base_github__deployments")
        con.execute("create table marts.fct_deployments as select range as id from range(3)")
    counts = layer_row_counts(warehouse)
    assert counts == {"raw": 5, "staging": 5, "marts": 3, "quarantine": 0}
    summary = format_summary([CheckOutcome("raw_github/deployments:fresh", False, "WARN", False)], counts)
    assert summary.splitlines() == [
        "checks:",
        "  WARN  raw_github/deployments:fresh",
        "  0 passed, 1 warned, 0 failed of 1",
        "rows stored: raw 5, staging 5, marts 3, quarantine 0",
    ]
