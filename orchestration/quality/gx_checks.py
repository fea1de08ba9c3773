"""Great Expectations suites on the marts, run from one plain Dagster `@multi_asset_check`.

GX through SQLAlchemy on DuckDB is broken and dagster-ge needs GX < 1, so the check reads each mart
into a pandas frame over a read-only connection, closes it, and validates the frame. GX is imported inside the
check, never at module level: it takes seconds to import and loading the definitions must stay fast.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation at definition time.
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from orchestration.quality.suites import MAX_ROW_COUNT_DRIFT, SUITES, MartSuite
from orchestration.resources import OpmetricsResource
from orchestration.serving.publish import quote_ident


def read_marts(opmetrics: OpmetricsResource, suites: list[MartSuite]) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The columns each suite validates (`MartSuite.columns`) of its mart as a DataFrame, and the row count of
    each mart in the last good run.

    One read-only connection, closed before anything is validated.
    """
    with opmetrics.connect(read_only=True) as con:
        frames = {
            suite.table: con.execute(
                f"select {', '.join(quote_ident(c) for c in suite.columns)} from {suite.table}"
            ).df()
            for suite in suites
        }
        has_counts = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw_state' "
            "and table_name = 'mart_row_counts'"
        ).fetchone()[0]
        previous = (
            dict(con.execute("select mart, rows from raw_state.mart_row_counts").fetchall()) if has_counts else {}
        )
    return frames, previous


def prepare(suite: MartSuite, frame: pd.DataFrame) -> pd.DataFrame:
    """Derived columns a suite validates: the comparison's values split by unit (percent vs the rest)."""
    if suite.table.endswith("operating_model_comparison"):
        frame = frame.copy()
        is_percent = frame["unit"] == "percent"
        frame["percent_value"] = frame["value"].where(is_percent)
        frame["non_percent_value"] = frame["value"].where(~is_percent)
    return frame


@cache
def _gx_batch_definition() -> Any:
    """One ephemeral GX context and whole-dataframe batch definition per process (creating one costs ~1 s)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # GX draws a progress bar per validation on stderr: noise in a run's log.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("opmetrics_marts")
    return source.add_dataframe_asset("mart").add_batch_definition_whole_dataframe("whole")


def prepare_great_expectations() -> None:
    """Import Great Expectations and create its context now: about 7 s of one core, better spent while another
    process works (the dbt build) than in the suites' step."""
    _gx_batch_definition()


def build_expectations(suite: MartSuite, previous_rows: int | None = None) -> list[Any]:
    """The GX expectations of `suite` (GX is imported here, lazily)."""
    import great_expectations as gx

    expectations: list[Any] = [
        gx.expectations.ExpectColumnValuesToBeBetween(column=r.column, min_value=r.low, max_value=r.high)
        for r in suite.ranges
    ]
    expectations += [
        gx.expectations.ExpectColumnDistinctValuesToContainSet(column=column, value_set=list(values))
        for column, values in suite.coverage.items()
    ]
    if suite.row_count is not None:
        expectations.append(gx.expectations.ExpectTableRowCountToEqual(value=suite.row_count))
    if previous_rows is not None:
        expectations.append(
            gx.expectations.ExpectTableRowCountToBeBetween(
                min_value=int(previous_rows * (1 - MAX_ROW_COUNT_DRIFT)),
                max_value=int(previous_rows * (1 + MAX_ROW_COUNT_DRIFT)) + 1,
            )
        )
    return expectations


def validate(frame: pd.DataFrame, name: str, expectations: list[Any]) -> tuple[bool, dict[str, Any]]:
    """Validate `frame` against `expectations`; (passed, metadata naming each failed expectation and what it saw)."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name, expectations=expectations)
    result = _gx_batch_definition().get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    failed: dict[str, Any] = {}
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        column = config.kwargs.get("column")
        label = f"{config.type}({column})" if column else config.type
        observed = r.result.get("observed_value", r.result.get("partial_unexpected_list"))
        failed[label] = {
            "observed": observed if observed is None or isinstance(observed, (int, float, str)) else str(observed),
            "unexpected_count": r.result.get("unexpected_count"),
        }
    metadata: dict[str, Any] = {
        "rows": MetadataValue.int(len(frame)),
        "expectations": MetadataValue.int(len(expectations)),
        "failed_expectations": MetadataValue.json(failed),
        "success_percent": MetadataValue.float(float(result.statistics.get("success_percent") or 0.0)),
    }
    return result.success, metadata


def _store_rows(opmetrics: OpmetricsResource, rows: dict[str, int]) -> None:
    # Only a passing count becomes the next baseline: one bad run must not lower the bar for the next.
    with opmetrics.connect() as con:
        con.execute("create schema if not exists raw_state")
        con.execute(
            "create table if not exists raw_state.mart_row_counts "
            "(mart varchar primary key, rows bigint, measured_at timestamptz)"
        )
        now = datetime.now(UTC)
        con.executemany(
            "insert or replace into raw_state.mart_row_counts values (?, ?, ?)",
            [[table, n, now] for table, n in rows.items()],
        )


def suite_result(suite: MartSuite, frame: pd.DataFrame) -> AssetCheckResult:
    """The `gx_suite` check of one mart: its ranges and coverage."""
    passed, metadata = validate(prepare(suite, frame), f"{suite.table}.gx_suite", build_expectations(suite))
    return _result(suite, "gx_suite", passed, metadata)


def drift_result(suite: MartSuite, frame: pd.DataFrame, previous: int | None) -> AssetCheckResult:
    """The `row_count_drift` check of one weekly mart against the previous good run's row count."""
    if previous is None:
        passed, metadata = True, {"rows": MetadataValue.int(len(frame)), "note": "first run: baseline stored"}
    else:
        passed, metadata = validate(frame, f"{suite.table}.row_count_drift", build_expectations(_ROWS_ONLY, previous))
    metadata["previous_rows"] = MetadataValue.int(previous if previous is not None else -1)
    metadata["max_drift"] = MetadataValue.float(MAX_ROW_COUNT_DRIFT)
    return _result(suite, "row_count_drift", passed, metadata)


def _result(suite: MartSuite, check_name: str, passed: bool, metadata: dict[str, Any]) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=AssetKey(suite.asset_path),
        check_name=check_name,
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


_ROWS_ONLY = MartSuite("drift.only")  # no ranges or coverage: just the row count against the previous run's


def gx_check_specs() -> list[AssetCheckSpec]:
    """One blocking `gx_suite` per mart and one blocking `row_count_drift` per weekly mart."""
    specs = [
        AssetCheckSpec(
            "gx_suite",
            asset=AssetKey(s.asset_path),
            blocking=True,
            description=f"Great Expectations: value ranges{' and coverage' if s.coverage else ''} of {s.table}.",
        )
        for s in SUITES
    ]
    specs += [
        AssetCheckSpec(
            "row_count_drift",
            asset=AssetKey(s.asset_path),
            blocking=True,
            description=f"Great Expectations: the row count of {s.table} is within {MAX_ROW_COUNT_DRIFT:.0%} "
            "of the previous good run's (raw_state.mart_row_counts).",
        )
        for s in SUITES
        if s.drift
    ]
    return specs


# One step for every suite, not one per check: each Dagster step costs ~0.1 s of its own, and the marts are read
# once, over one connection, for their suites and drift checks. Each result still shows on its own asset, and
# blocks only its own.
@multi_asset_check(specs=gx_check_specs(), name="marts_gx_suites", can_subset=True)
def marts_gx_suites(context: AssetCheckExecutionContext, opmetrics: OpmetricsResource) -> Iterator[AssetCheckResult]:
    """Run the Great Expectations suites of the marts (`orchestration.quality.suites`)."""

    def wants(suite: MartSuite, check_name: str) -> bool:
        return AssetCheckKey(AssetKey(suite.asset_path), check_name) in context.selected_asset_check_keys

    suites = [s for s in SUITES if wants(s, "gx_suite") or wants(s, "row_count_drift")]
    frames, previous = read_marts(opmetrics, suites)
    passing_counts: dict[str, int] = {}
    for suite in suites:
        frame = frames[suite.table]
        if wants(suite, "gx_suite"):
            yield suite_result(suite, frame)
        if wants(suite, "row_count_drift"):
            result = drift_result(suite, frame, previous.get(suite.table))
            if result.passed:
                passing_counts[suite.table] = len(frame)
            yield result
    if passing_counts:
        _store_rows(opmetrics, passing_counts)


def gx_checks() -> list[AssetChecksDefinition]:
    """Every GX check of the marts (one multi-asset check)."""
    return [marts_gx_suites]
