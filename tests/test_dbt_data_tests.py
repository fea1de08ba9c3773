"""The daily run's data tests as one batch (`orchestration/dbt/data_tests.py`): dbt's statuses and thresholds, the
prepared manifest's compiled SQL, and the asset checks they report as. That the batch finds what `dbt test` finds on
a real warehouse is pinned end to end (`tests/test_end_to_end.py`)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey

from orchestration.dbt.assets import OpmetricsTranslator, opmetrics_dbt_assets
from orchestration.dbt.data_tests import DataTest, DataTestsNotCompiled, catalog_of, data_tests, run_data_tests
from orchestration.dbt.project import dbt_project

KEY = AssetCheckKey(AssetKey(["marts", "t"]), "a_check")


def _test(sql: str, severity: str = "error", **config: object) -> DataTest:
    return DataTest(unique_id=f"test.opmetrics.{len(sql)}", check_key=KEY, sql=sql, severity=severity, **config)  # type: ignore[arg-type]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    # Named otherwise than the catalog the SQL names: the batch attaches it under the compiled name.
    path = tmp_path / "elsewhere.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create table marts.t as select range as id from range(5)")
        con.execute("insert into marts.t values (1), (1), (null)")
    return path


def test_statuses_and_thresholds_are_dbts(warehouse: Path) -> None:
    duplicates = 'select id from "warehouse"."marts"."t" group by id having count(*) > 1 or id is null'
    tests = [
        _test('select * from "warehouse"."marts"."t" where id > 100'),  # nothing fails
        _test(duplicates),  # 2 failing rows: fail
        _test(duplicates, severity="warn"),  # a warning, whatever error_if says
        _test(duplicates, warn_if=">= 2", error_if="> 5"),  # over warn_if, under error_if: warn
        _test(duplicates, warn_if="> 5", error_if="> 5"),  # under both: pass, reported as dbt does (0 failures)
        _test(duplicates, fail_calc="sum(id)"),  # the failures are what fail_calc says
        _test("select * from marts.t", limit=3),  # the limit caps what is counted
        _test("select * from marts.missing"),  # its SQL does not run: error
    ]
    outcomes = list(run_data_tests(warehouse, tests, catalog="warehouse"))
    assert [(o.status, o.failures) for o in outcomes] == [
        ("pass", 0), ("fail", 2), ("warn", 2), ("warn", 2), ("pass", 0), ("fail", 1), ("fail", 3), ("error", None),
    ]  # fmt: skip
    assert "marts.missing" in (outcomes[-1].message or "")


def test_outcomes_report_as_dagster_dbt_reports_a_test(warehouse: Path) -> None:
    ok, failed, warned, broken = run_data_tests(
        warehouse,
        [
            _test('select * from "warehouse"."marts"."t" where false'),
            _test("select * from marts.t where id = 1"),
            _test("select * from marts.t where id = 1", severity="warn"),
            _test("select * from nowhere"),
        ],
        catalog="warehouse",
    )
    results = [o.check_result() for o in (ok, failed, warned, broken)]
    assert [(r.passed, r.severity) for r in results] == [
        (True, AssetCheckSeverity.ERROR), (False, AssetCheckSeverity.ERROR),
        (False, AssetCheckSeverity.WARN), (False, AssetCheckSeverity.ERROR),
    ]  # fmt: skip
    assert {(r.asset_key, r.check_name) for r in results} == {(KEY.asset_key, KEY.name)}
    assert results[1].metadata["dagster_dbt/failed_row_count"].value == 3  # id 1, three times
    assert results[1].metadata["status"].value == "fail"
    assert "dagster_dbt/failed_row_count" not in results[3].metadata and results[3].metadata["message"].value


def test_the_prepared_manifest_compiles_every_data_test_into_an_asset_check(dbt_manifest: Path) -> None:
    manifest = json.loads(dbt_manifest.read_text())
    translator = OpmetricsTranslator()
    tests = data_tests(manifest, translator, dbt_project)
    declared = [i for i, n in manifest["nodes"].items() if n["resource_type"] == "test"]
    assert len(tests) == len(declared) > 100
    check_keys = set(opmetrics_dbt_assets.check_keys)
    assert {t.check_key for t in tests} == check_keys, "every data test is one of the dbt asset's checks"
    assert all("{{" not in t.sql and "{%" not in t.sql for t in tests), "compiled, not Jinja"
    catalog = catalog_of(manifest)
    assert catalog and all(f'"{catalog}".' in t.sql for t in tests if "information_schema" not in t.sql)
    # a selection runs only the checks Dagster selected
    one = next(iter(check_keys))
    assert [t.check_key for t in data_tests(manifest, translator, dbt_project, {one})] == [one]


def test_a_manifest_without_compiled_tests_is_refused(dbt_manifest: Path) -> None:
    manifest = json.loads(dbt_manifest.read_text())
    first = next(i for i, n in manifest["nodes"].items() if n["resource_type"] == "test")
    del manifest["nodes"][first]["compiled_code"]
    with pytest.raises(DataTestsNotCompiled, match="prepare-and-package"):
        data_tests(manifest, OpmetricsTranslator(), dbt_project)


def test_a_data_test_that_is_no_asset_check_is_refused(dbt_manifest: Path) -> None:
    """A singular test of two models without `meta.dagster.ref` maps to no check: the batch would drop it."""
    manifest = json.loads(dbt_manifest.read_text())
    node = next(
        n for n in manifest["nodes"].values() if n["resource_type"] == "test" and len(n["depends_on"]["nodes"]) > 1
    )
    node["attached_node"] = None
    with pytest.raises(DataTestsNotCompiled, match="not an asset check"):
        data_tests(manifest, OpmetricsTranslator(), dbt_project)
