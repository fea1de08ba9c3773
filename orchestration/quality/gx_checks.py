"""Great Expectations suites on the marts, each run from a plain Dagster `@asset_check`.

GX through SQLAlchemy on DuckDB is broken and dagster-ge is unusable (DESIGN.md), so each check reads its mart
into a pandas frame over a read-only connection, closes it, and validates the frame. GX is imported inside the
check, never at module level: it takes seconds to import and loading the definitions must stay fast.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation at definition time.
import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from orchestration.quality.suites import MAX_ROW_COUNT_DRIFT, SUITES, MartSuite
from orchestration.resources import OpmetricsResource

# Set to 1 to skip every GX suite (used to measure what the checks cost; never in production).
DISABLE_ENV = "OPMETRICS_DISABLE_GX"


def read_frame(opmetrics: OpmetricsResource, table: str) -> pd.DataFrame:
    """The whole mart as a DataFrame; the read-only connection is closed before validating."""
    with opmetrics.connect(read_only=True) as con:
        return con.execute(f"select * from {table}").df()


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


def _disabled(key: AssetKey, name: str) -> AssetCheckResult:
    return AssetCheckResult(asset_key=key, check_name=name, passed=True, metadata={"skipped": f"{DISABLE_ENV}=1"})


def build_suite_check(suite: MartSuite) -> AssetChecksDefinition:
    """A blocking check running `suite`'s ranges and coverage: a mart outside its bounds must not be published."""
    key = AssetKey(suite.asset_path)

    @asset_check(
        asset=key,
        name="gx_suite",
        blocking=True,
        description=f"Great Expectations: value ranges{' and coverage' if suite.coverage else ''} of {suite.table}.",
    )
    def _check(context: AssetCheckExecutionContext, opmetrics: OpmetricsResource) -> AssetCheckResult:
        if os.environ.get(DISABLE_ENV) == "1":
            return _disabled(key, "gx_suite")
        frame = prepare(suite, read_frame(opmetrics, suite.table))
        passed, metadata = validate(frame, f"{suite.table}.gx_suite", build_expectations(suite))
        return AssetCheckResult(passed=passed, severity=AssetCheckSeverity.ERROR, metadata=metadata)

    return _check


def _previous_rows(opmetrics: OpmetricsResource, table: str) -> int | None:
    with opmetrics.connect(read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw_state' "
            "and table_name = 'mart_row_counts'"
        ).fetchone()[0]
        if not exists:
            return None
        row = con.execute("select rows from raw_state.mart_row_counts where mart = ?", [table]).fetchone()
    return row[0] if row else None


def _store_rows(opmetrics: OpmetricsResource, table: str, rows: int) -> None:
    # Only a passing count becomes the next baseline: one bad run must not lower the bar for the next.
    with opmetrics.connect() as con:
        con.execute("create schema if not exists raw_state")
        con.execute(
            "create table if not exists raw_state.mart_row_counts "
            "(mart varchar primary key, rows bigint, measured_at timestamptz)"
        )
        con.execute(
            "insert or replace into raw_state.mart_row_counts values (?, ?, ?)", [table, rows, datetime.now(UTC)]
        )


def build_drift_check(suite: MartSuite) -> AssetChecksDefinition:
    """A blocking check that the mart's row count stays within MAX_ROW_COUNT_DRIFT of the previous good run's."""
    key = AssetKey(suite.asset_path)

    @asset_check(
        asset=key,
        name="row_count_drift",
        blocking=True,
        description=f"Great Expectations: the row count of {suite.table} is within "
        f"{MAX_ROW_COUNT_DRIFT:.0%} of the previous good run's (raw_state.mart_row_counts).",
    )
    def _check(context: AssetCheckExecutionContext, opmetrics: OpmetricsResource) -> AssetCheckResult:
        if os.environ.get(DISABLE_ENV) == "1":
            return _disabled(key, "row_count_drift")
        previous = _previous_rows(opmetrics, suite.table)
        frame = read_frame(opmetrics, suite.table)
        if previous is None:
            passed, metadata = True, {"rows": MetadataValue.int(len(frame)), "note": "first run: baseline stored"}
        else:
            passed, metadata = validate(frame, f"{suite.table}.row_count_drift", build_expectations_drift(previous))
        metadata["previous_rows"] = MetadataValue.int(previous if previous is not None else -1)
        metadata["max_drift"] = MetadataValue.float(MAX_ROW_COUNT_DRIFT)
        if passed:
            _store_rows(opmetrics, suite.table, len(frame))
        return AssetCheckResult(passed=passed, severity=AssetCheckSeverity.ERROR, metadata=metadata)

    return _check


def build_expectations_drift(previous_rows: int) -> list[Any]:
    """Only the row-count expectation against the previous run's count."""
    return build_expectations(MartSuite("drift.only"), previous_rows)


def gx_checks() -> list[AssetChecksDefinition]:
    """Every GX check of the marts: one suite per mart, and a drift check per weekly mart."""
    checks = [build_suite_check(s) for s in SUITES]
    checks += [build_drift_check(s) for s in SUITES if s.drift]
    return checks
