"""A small warehouse whose marts have exactly the columns and types the dbt model files declare.

The tables are created from the marts' `.yml` files (their contracts give every column's type), so a renamed or
retyped column shows up here the moment the dbt files change, and the report and the BI queries are tested against
the real contract rather than a copy of it. The rows are synthetic: four services over twelve weeks, two run by their
team, one by operations, and one that moves from operations to its team half way.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.serving.schema_doc import load_mart_docs

YBIYRI, OPS = "you_build_it_you_run_it", "ops_run_it"
LABELS = {YBIYRI: "You Build It You Run It", OPS: "Ops Run It"}
PLAYBOOK = {
    ("deployment_frequency", YBIYRI): "Daily+ to weekly",
    ("deployment_frequency", OPS): "Fortnightly to monthly",
}
FIRST_WEEK = date(2025, 1, 6)  # a Monday
WEEKS = 12
AS_OF = FIRST_WEEK + timedelta(weeks=WEEKS)
MIGRATED_AT = FIRST_WEEK + timedelta(weeks=6)
# service -> (team, target, model before MIGRATED_AT, model from then on)
SERVICES = {
    "checkout": ("payments", 99.9, YBIYRI, YBIYRI),
    "search": ("discovery", 99.5, YBIYRI, YBIYRI),
    "ledger": ("finance", 99.9, OPS, OPS),
    "invoicing": ("finance", 99.0, OPS, YBIYRI),
}
MEASURES = [  # measure, unit, aggregation, YBIYRI value, Ops value, YBIYRI band, Ops band
    ("deployment_frequency", "deployments per week", "median of service rates", 6.5, 0.6, "Daily+", "Fortnightly"),
    ("deployment_lead_time", "hours", "pooled median", 3.2, 190.0, "Hours", "Weeks"),
    ("availability_level", "percent", "median of service rates", 99.93, 99.2, "95.0% to 99.99%", "95.0% to 99.99%"),
    ("time_to_restore", "hours", "pooled median", 0.6, 9.5, "Minutes", "Hours"),
    ("time_to_generate_insights", "hours", "pooled median", 30.0, 80.0, "Days", "Days"),
    ("time_to_implement_actions", "hours", "pooled median", 60.0, 900.0, "Days", "Months"),
    ("change_failure_rate", "percent", "median of service rates", 8.0, 40.0, None, None),
]


def model_at(service: str, moment: date) -> str:
    _, _, before, after = SERVICES[service]
    return after if moment >= MIGRATED_AT else before


def _ts(day: date, hours: float = 0.0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hours)


def create_mart_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty marts, exactly as the dbt contracts declare them."""
    con.execute("create schema if not exists marts")
    for doc in load_mart_docs():
        columns = ", ".join(f'"{c.name}" {c.data_type}' for c in doc.columns)
        con.execute(f'create or replace table marts."{doc.name}" ({columns})')


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert by column name. Columns the contract no longer has are dropped: if the report or a documented query
    still uses one, its own test fails on the query, which names the column; if nothing does, nothing should fail."""
    if not rows:
        return
    columns = {
        c for (c,) in con.execute("select column_name from duckdb_columns() where table_name = ?", [table]).fetchall()
    }
    frame = pd.DataFrame(rows)
    frame = frame[[c for c in frame.columns if c in columns]]
    con.register("_rows", frame)
    try:
        con.execute(f'insert into marts."{table}" by name select * from _rows')
    finally:
        con.unregister("_rows")


def fill_marts(con: duckdb.DuckDBPyConnection, version: int = 0, events_per_week: int = 3) -> None:
    """Synthetic rows in every mart; `version` shifts the figures so two fills give different snapshots."""
    rng = random.Random(version)
    weeks = [FIRST_WEEK + timedelta(weeks=i) for i in range(WEEKS)]
    _insert(
        con,
        "dim_services",
        [
            {
                "service": s,
                "team": team,
                "availability_target": target,
                "current_operating_model": after,
                "first_operating_model": before,
                "n_operating_model_changes": int(before != after),
                "sources": "github, pagerduty",
                "mappings": f'{{"github": {{"repo": "acme/{s}"}}, "pagerduty": {{"service_id": "P{s.upper()}"}}}}',
            }
            for s, (team, target, before, after) in SERVICES.items()
        ],
    )
    periods = []
    for s, (_, _, before, after) in SERVICES.items():
        periods.append({"operating_model_period_id": f"{s}@2024-01-01", "service": s, "operating_model": before,
                        "valid_from": date(2024, 1, 1), "is_current": before == after})  # fmt: skip
        if before != after:
            periods.append({"operating_model_period_id": f"{s}@{MIGRATED_AT}", "service": s,
                            "operating_model": after, "previous_operating_model": before,
                            "valid_from": MIGRATED_AT, "is_current": True})  # fmt: skip
    _insert(con, "dim_service_operating_models", periods)

    throughput, reliability, learning = [], [], []
    changes, deployments, incidents, reviews, actions = [], [], [], [], []
    for s, (_, target, _, _) in SERVICES.items():
        for week in weeks:
            model = model_at(s, week)
            fast = model == YBIYRI
            n_deploys = (5 + rng.randint(0, 3) if fast else rng.randint(0, 1)) + version
            failed = rng.randint(0, 1) if n_deploys else 0
            downtime = rng.uniform(0, 8) if fast else rng.uniform(0, 120)
            iso = f"{week.isocalendar()[0]}-W{week.isocalendar()[1]:02d}"
            common = {"service": s, "week_start": week, "iso_week": iso, "operating_model": model}
            lead_median = rng.uniform(1, 5) if fast else rng.uniform(100, 300)
            throughput.append({**common, "deployments": n_deploys, "failed_deployments": failed,
                               "median_deployment_lead_time_hours": lead_median,
                               "change_failure_rate": 100.0 * failed / n_deploys if n_deploys else None})  # fmt: skip
            availability = 100 * (1 - downtime / 10080)
            reliability.append({**common, "incidents": 1, "impacting_incidents": 1, "downtime_minutes": downtime,
                                "period_minutes": 10080.0, "availability_pct": availability,
                                "availability_target": target, "tolerable_downtime_minutes": (1 - target / 100) * 10080,
                                "target_met": availability >= target})  # fmt: skip
            learning.append({**common, "impacting_incidents": 1, "reviewed_incidents": 1, "reviews_published": 1})
            for i in range(events_per_week):
                moment = _ts(week, 24 * (i % 5) + 10 + i / events_per_week)
                n = len(changes)
                lead = rng.uniform(0.5, 6) if fast else rng.uniform(50, 400)
                changes.append({"change_id": f"{s}-c{n}", "service": s, "change_type": "merge", "is_shipped": True,
                                "merged_at": moment - timedelta(hours=lead), "deployed_at": moment,
                                "deployment_lead_time_hours": lead, "operating_model": model,
                                "title": f"change {n} of version {version}"})  # fmt: skip
            deployments.append({"deployment_id": len(deployments) + 1, "service": s, "environment": "production",
                                "is_production": True, "status": "success", "counts_as_deployment": True,
                                "deployed_at": _ts(week, 11), "operating_model": model})  # fmt: skip
            restore = rng.uniform(10, 90) if fast else rng.uniform(120, 1400)
            triggered = _ts(week, 30)
            incident_id = f"{s}-{week}"
            incidents.append({"incident_id": incident_id, "service": s, "is_impacting": True,
                              "triggered_at": triggered, "resolved_at": triggered + timedelta(minutes=restore),
                              "time_to_restore_minutes": restore, "operating_model": model})  # fmt: skip
            insight = rng.uniform(10, 50) if fast else rng.uniform(40, 150)
            published = triggered + timedelta(minutes=restore, hours=insight)
            reviews.append({"review_id": f"r-{incident_id}", "service": s, "incident_id": incident_id,
                            "is_published": True, "published_at": published,
                            "time_to_generate_insights_hours": insight, "operating_model": model})  # fmt: skip
            implement = rng.uniform(1, 5) if fast else rng.uniform(20, 60)
            actions.append({"action_id": f"a-{incident_id}", "service": s, "review_id": f"r-{incident_id}",
                            "is_open": False, "created_at": published, "completed_at": published + timedelta(implement),
                            "time_to_implement_actions_days": implement, "operating_model": model})  # fmt: skip
    _insert(con, "deployment_throughput", throughput)
    _insert(con, "service_reliability", reliability)
    _insert(con, "learning_culture", learning)
    _insert(con, "fct_changes", changes)
    _insert(con, "fct_deployments", deployments)
    _insert(con, "fct_incidents", incidents)
    _insert(con, "fct_incident_reviews", reviews)
    _insert(con, "fct_improvement_actions", actions)

    window_start = AS_OF - timedelta(days=90)
    comparison, migrations, trends = [], [], []
    for order, (measure, unit, aggregation, fast, slow, fast_band, slow_band) in enumerate(MEASURES, start=1):
        label = measure.replace("_", " ").capitalize()
        for model_order, (model, value, band) in enumerate(((YBIYRI, fast, fast_band), (OPS, slow, slow_band)), 1):
            comparison.append({"measure": measure, "operating_model": model, "value": value + version / 10,
                               "unit": unit, "band": band, "band_confidence": "normal", "p85": value * 1.4,
                               "n_services": 2, "n_events": 20 + order, "aggregation": aggregation,
                               "display_order": order, "window_start": window_start, "window_end": AS_OF,
                               "window_days": 90, "as_of": AS_OF, "measure_label": label,
                               "operating_model_label": LABELS[model], "operating_model_order": model_order,
                               "playbook_expectation": PLAYBOOK.get((measure, model))})  # fmt: skip
            for i, week in enumerate(weeks):
                trends.append({"week_start": week, "operating_model": model, "measure": measure, "unit": unit,
                               "value": value * rng.uniform(0.8, 1.2), "n_services": 2, "n_events": 3,
                               "is_complete_week": i < len(weeks) - 1, "measure_label": label,
                               "operating_model_label": LABELS[model], "display_order": order})  # fmt: skip
        migrations.append({"migration_id": f"invoicing@{MIGRATED_AT}", "service": "invoicing",
                           "migrated_at": _ts(MIGRATED_AT), "from_operating_model": OPS, "to_operating_model": YBIYRI,
                           "measure": measure, "unit": unit, "value_before": slow, "value_after": fast,
                           "change": fast - slow, "band_before": slow_band, "band_after": fast_band,
                           "n_events_before": 12, "n_events_after": 14, "before_days": 42.0, "after_days": 42.0,
                           "display_order": order})  # fmt: skip
    _insert(con, "operating_model_comparison", comparison)
    _insert(con, "operating_model_migrations", migrations)
    _insert(con, "operating_model_trends", trends)
    window_minutes = 90 * 1440.0
    targets = []
    for s, (team, target, _, after) in SERVICES.items():
        downtime = sum(
            r["downtime_minutes"] for r in reliability if r["service"] == s and r["week_start"] >= window_start
        )
        availability = 100 * (1 - downtime / window_minutes)
        allowed = (1 - target / 100) * window_minutes
        targets.append({"service": s, "team": team, "current_operating_model": after, "availability_target": target,
                        "window_start": window_start, "window_end": AS_OF, "availability_pct": availability,
                        "distance_from_target_pp": availability - target, "target_met": availability >= target,
                        "downtime_minutes": downtime, "allowed_downtime_minutes": allowed,
                        "error_budget_used_pct": 100 * downtime / allowed, "impacting_incidents": 12})  # fmt: skip
    _insert(con, "service_availability_targets", targets)


def add_non_mart_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """What the working warehouse has besides the marts, none of which may reach the snapshot."""
    con.execute("create schema if not exists raw_github")
    con.execute("create or replace table raw_github.deployments as select 1 as _pk, '{}'::json as payload")
    con.execute("create schema if not exists staging")
    con.execute("create or replace view staging.stg_github__deployments as select _pk from raw_github.deployments")
    con.execute("create schema if not exists intermediate")
    con.execute("create or replace table intermediate.int_deployments as select 1 as deployment_id")
    con.execute("create schema if not exists quarantine")
    con.execute("create or replace table quarantine.rejected_rows as select 'bad' as reason")
    con.execute("create schema if not exists seeds")
    con.execute("create or replace table seeds.bands as select 'Weekly' as band")


def build_warehouse(path: Path, version: int = 0, events_per_week: int = 3) -> Path:
    """A warehouse file at `path` with the marts (filled) and the other layers (a row or two each)."""
    con = duckdb.connect(str(path))
    try:
        create_mart_tables(con)
        fill_marts(con, version, events_per_week)
        add_non_mart_schemas(con)
    finally:
        con.close()
    return path


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[tuple[str, int, int], ...]:
    """Every marts table's name, row count and an order-independent hash of all its rows."""
    tables = [
        t
        for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
    ]
    return tuple(
        (t, *con.execute(f'select count(*), coalesce(bit_xor(hash(x)), 0) from marts."{t}" as x').fetchone())
        for t in tables
    )


def file_fingerprint(path: Path) -> tuple[tuple[str, int, int], ...]:
    """`fingerprint` of the DuckDB file at `path`, opened read-only and closed again."""
    with duckdb.connect(str(path), read_only=True) as con:
        return fingerprint(con)
