"""The daily job end to end on a small sample organisation: raw assets, dbt build, Table 1 in its bands."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import run_daily, serve_sample

END = dt.date(2026, 6, 30)

# The playbook's Table 1, as bands each operating model's figure must fall in.
TABLE_1 = {
    ("deployment_frequency", "you_build_it_you_run_it"): {"Daily+", "Weekly"},
    ("deployment_frequency", "ops_run_it"): {"Fortnightly", "Monthly"},
    ("deployment_lead_time", "you_build_it_you_run_it"): {"Minutes", "Hours", "Days"},
    ("deployment_lead_time", "ops_run_it"): {"Days", "Weeks", "Months"},
    ("time_to_restore", "you_build_it_you_run_it"): {"Minutes", "Hours"},
    ("time_to_restore", "ops_run_it"): {"Hours", "Days"},
    ("time_to_generate_insights", "you_build_it_you_run_it"): {"Hours", "Days"},
    ("time_to_generate_insights", "ops_run_it"): {"Hours", "Days"},
    ("time_to_implement_actions", "you_build_it_you_run_it"): {"Hours", "Days"},
    ("time_to_implement_actions", "ops_run_it"): {"Weeks", "Months"},
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("e2e")
    saved = dict(os.environ)
    os.environ["DAGSTER_HOME"] = str(tmp / "dagster_home")
    os.environ["OPMETRICS_AS_OF"] = END.isoformat()
    try:
        with serve_sample(services=8, days=200, seed=11, end=END, config_dir=tmp) as config:
            os.environ["OPMETRICS_CONFIG"] = str(config)
            assert run_daily(), "daily_refresh failed"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return tmp / "warehouse.duckdb"


def comparison(warehouse: Path) -> dict[tuple[str, str], tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select measure, operating_model, value, band, n_services, n_events from marts.operating_model_comparison"
        ).fetchall()
    return {(m, om): rest for m, om, *rest in rows}


def test_comparison_puts_each_model_in_its_table_1_bands(warehouse: Path) -> None:
    table = comparison(warehouse)
    for key, allowed in TABLE_1.items():
        value, band, n_services, n_events = table[key]
        assert band in allowed, f"{key}: {value} is {band}, expected one of {sorted(allowed)}"
        assert n_services > 0 and n_events > 0
    for model in ("you_build_it_you_run_it", "ops_run_it"):
        availability = table[("availability_level", model)][0]
        assert 95.0 <= availability <= 99.99, f"{model} availability {availability}"
        assert ("change_failure_rate", model) in table


def test_every_raw_stream_landed(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables where table_schema like 'raw_%'"
        ).fetchall()
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}
    empty = [t for t, n in counts.items() if n == 0 and not t.startswith("raw_opsgenie")]
    assert not empty, f"empty raw tables: {empty}"


def test_the_run_is_recorded_in_dagster_home(warehouse: Path) -> None:
    assert (warehouse.parent / "dagster_home" / "runs.db").exists() or any(
        (warehouse.parent / "dagster_home").rglob("*.db")
    )


def test_migrated_services_shift_as_the_playbook_expects(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select service, measure, value_before, value_after from marts.operating_model_migrations"
            " where measure in ('deployment_frequency', 'deployment_lead_time', 'time_to_restore')"
        ).fetchall()
    services = {service for service, *_ in rows}
    assert len(services) >= 2, "the sample organisation migrates at least two services"
    for service, measure, before, after in rows:
        if before is None or after is None:
            continue
        if measure == "deployment_frequency":
            assert after > before, f"{service} deploys more often after moving to You Build It You Run It"
        else:
            assert after < before, f"{service}: {measure} shortens after moving to You Build It You Run It"


def test_report_prints_table_1_then_the_migrations(warehouse: Path) -> None:
    from orchestration.report import comparison_table

    text = comparison_table(warehouse)
    assert text.index("Deployment frequency") < text.index("Migrations")
    assert "You Build It You Run It" in text and "Ops Run It" in text
