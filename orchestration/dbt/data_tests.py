"""The dbt project's data tests, run as one batch after the daily build and reported as the same asset checks.

In `dbt build` each of the 191 data tests is a node of its own, and dbt's work per node (compiling it, running its
materialization's Jinja, firing and logging its events) cost more than the test's query: at 1,000 services the
tests held about a quarter of the build's node time, mostly outside DuckDB (docs/performance-log.md). So the daily
build leaves them out (`dbt_build_args`) and this module runs them once the models are built: their SQL, compiled by
dbt when the manifest is prepared (`orchestration/dbt/project.py`), in one DuckDB connection, wrapped as dbt wraps it
(`get_test_sql`: the fail calculation and the `warn_if` / `error_if` thresholds), with dbt's statuses (pass, warn,
fail, error) and dagster-dbt's asset check results: same check keys, severities and `dagster_dbt/failed_row_count`.
A failed ERROR check is blocking, so the step fails and nothing downstream (the publish) runs, as before.

What changes against `dbt build`: a test no longer stops the models after it from building in the same run; the run
still fails and publishes nothing. `dbt build` by hand runs the tests as dbt always does.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetCheckKey, AssetCheckResult, AssetCheckSeverity, MetadataValue
from dagster_dbt import DagsterDbtTranslator, DbtProject
from dagster_dbt.asset_utils import get_asset_check_key_for_test

from orchestration.warehouse import memory_limit


class DataTestsNotCompiled(RuntimeError):
    """The manifest has data tests the batch cannot run: without compiled SQL (it was parsed, not prepared by
    `orchestration.dbt.project`), or not attached to an asset."""


@dataclass(frozen=True)
class DataTest:
    """One dbt data test: its compiled SQL, its thresholds, and the asset check it reports as."""

    unique_id: str
    check_key: AssetCheckKey
    sql: str
    severity: str
    fail_calc: str = "count(*)"
    warn_if: str = "!= 0"
    error_if: str = "!= 0"
    limit: int | None = None

    def query(self) -> str:
        """The test's SQL wrapped as dbt's `default__get_test_sql` wraps it: one row of failures and thresholds."""
        limit = f"\n limit {self.limit}" if self.limit is not None else ""
        return (
            f"select {self.fail_calc} as failures, {self.fail_calc} {self.warn_if} as should_warn,"
            f" {self.fail_calc} {self.error_if} as should_error\nfrom (\n{self.sql}{limit}\n) dbt_internal_test"
        )


@dataclass(frozen=True)
class Outcome:
    """What one data test found, with dbt's status: pass, warn, fail or error (its SQL did not run)."""

    test: DataTest
    status: str
    failures: int | None
    seconds: float
    message: str | None = None

    def check_result(self) -> AssetCheckResult:
        """The asset check result dagster-dbt yields for the same test run by `dbt build`."""
        metadata: dict[str, Any] = {
            "unique_id": self.test.unique_id,
            "status": self.status,
            # how the benchmark tells these from tests dbt ran itself (`benchmarks/scale_events.py`)
            "runner": "data test batch",
            "Execution Duration": MetadataValue.float(round(self.seconds, 3)),
        }
        if self.failures is not None:
            metadata["dagster_dbt/failed_row_count"] = self.failures
        if self.message:
            metadata["message"] = self.message
        return AssetCheckResult(
            asset_key=self.test.check_key.asset_key,
            check_name=self.test.check_key.name,
            passed=self.status == "pass",
            severity=AssetCheckSeverity.WARN if self.status == "warn" else AssetCheckSeverity.ERROR,
            metadata=metadata,
        )


def data_tests(
    manifest: Mapping[str, Any],
    translator: DagsterDbtTranslator,
    project: DbtProject | None = None,
    selected: set[AssetCheckKey] | None = None,
) -> list[DataTest]:
    """The manifest's data tests that are asset checks (all of them, or those in `selected`), in the manifest's order.

    Raises `DataTestsNotCompiled` naming the tests without compiled SQL: running fewer tests than the project has
    would pass a run that should fail.
    """
    tests: list[DataTest] = []
    uncompiled: list[str] = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "test":
            continue
        key = get_asset_check_key_for_test(manifest, translator, unique_id, project)
        if key is None:
            # dagster-dbt cannot attach it to an asset (a singular test of several models without meta.dagster.ref):
            # leaving it out would pass a run `dbt build` would have failed
            raise DataTestsNotCompiled(
                f"the data test {unique_id} is not an asset check: give it `meta: {{dagster: {{ref: ...}}}}`"
            )
        if selected is not None and key not in selected:
            continue
        sql = node.get("compiled_code")
        if not sql:
            uncompiled.append(unique_id)
            continue
        config = node.get("config", {})
        tests.append(
            DataTest(
                unique_id=unique_id,
                check_key=key,
                sql=sql,
                severity=(config.get("severity") or "error").lower(),
                fail_calc=config.get("fail_calc") or "count(*)",
                warn_if=config.get("warn_if") or "!= 0",
                error_if=config.get("error_if") or "!= 0",
                limit=config.get("limit"),
            )
        )
    if uncompiled:
        raise DataTestsNotCompiled(
            f"{len(uncompiled)} data tests in the manifest have no compiled SQL (e.g. {uncompiled[0]}): prepare it "
            "with `dagster-dbt project prepare-and-package --file orchestration/dbt/project.py` (`make install`)"
        )
    return tests


def catalog_of(manifest: Mapping[str, Any]) -> str | None:
    """The database name the tests were compiled against (dbt-duckdb names it after the warehouse file)."""
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("database"):
            return str(node["database"])
    return None


# Two tests at a time: most are small queries whose planning and result handling run on one thread, so a second one
# uses the other core; and the caller stores each outcome (Dagster's event) while the next queries run.
WORKERS = 2


def run_data_tests(
    warehouse: Path, tests: Sequence[DataTest], catalog: str | None = None, workers: int = WORKERS
) -> Iterator[Outcome]:
    """Run the tests' queries against `warehouse`, read-only, `workers` at a time, yielding outcomes in their order.

    The compiled SQL names relations with the catalog dbt saw when it compiled (`catalog`): the warehouse is
    attached under that name, so the tests run whatever the file is called now.
    """
    if not tests:
        return
    name = catalog or warehouse.stem
    # In memory, with the warehouse attached: a query past the memory limit spills beside the warehouse, as one on
    # the warehouse's own connection would, not into the working directory (DuckDB's default without a file).
    con = duckdb.connect(config={"memory_limit": memory_limit(), "temp_directory": f"{os.fspath(warehouse)}.tmp"})
    quoted = '"' + name.replace('"', '""') + '"'
    path = os.fspath(warehouse).replace("'", "''")
    con.execute(f"attach '{path}' as {quoted} (read_only)")
    local = threading.local()
    cursors: list[duckdb.DuckDBPyConnection] = []

    def run(test: DataTest) -> Outcome:
        if not hasattr(local, "cursor"):  # one connection per thread, on the same database
            local.cursor = con.cursor()
            cursors.append(local.cursor)
            local.cursor.execute("set TimeZone = 'UTC'")  # as dbt's profile sets it
            local.cursor.execute(f"use {quoted}")
        return _outcome(local.cursor, test)

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="data-test")
    try:
        yield from pool.map(run, tests)
    finally:
        # a caller that stops early (a run terminated) waits neither for the queries running nor for those left
        for cursor in list(cursors):
            cursor.interrupt()
        pool.shutdown(cancel_futures=True)
        for cursor in cursors:
            cursor.close()
        con.close()


def _outcome(cursor: duckdb.DuckDBPyConnection, test: DataTest) -> Outcome:
    """Run one test, with dbt's rules for its status (`TestRunner.build_test_run_result`)."""
    started = time.perf_counter()
    try:
        failures, should_warn, should_error = cursor.execute(test.query()).fetchone()  # type: ignore[misc]
    except duckdb.Error as exc:
        return Outcome(test, "error", None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    if failures is None:  # dbt counts a fail_calc without a value as an error
        return Outcome(test, "error", None, seconds, f"{test.fail_calc} gave no value")
    if test.severity == "error" and should_error:
        return Outcome(test, "fail", int(failures), seconds)
    if should_warn:
        return Outcome(test, "warn", int(failures), seconds)
    return Outcome(test, "pass", 0, seconds)  # as dbt reports a pass, whatever the count under its thresholds
