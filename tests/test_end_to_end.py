"""The daily job end to end on a small sample organisation: raw assets, dbt build, Table 1 in its bands."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from connectors.registry import CONNECTORS
from orchestration.cli import run_daily, serve_sample
from orchestration.serving.paths import serving_paths
from orchestration.serving.schema_doc import BI_DOC
from tests.test_dbt_incremental import assert_fingerprints_kept, query
from tests.test_dbt_project import dbt

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
    # Learning predisposition: the share of the four learning measures in "Act on insights"
    ("learning_predisposition", "you_build_it_you_run_it"): {"Act on insights"},
    ("learning_predisposition", "ops_run_it"): {"Rush to fix"},
    # Who gets paged: the owning product team first under You Build It You Run It
    ("developer_operability_incentives", "you_build_it_you_run_it"): {"High"},
    ("developer_operability_incentives", "ops_run_it"): {"Low"},
    # Total cost of ownership %: each model's cost per service per year against the costlier model's
    **{
        (f"{dimension}_tco", model): bands
        for dimension in ("deployment_throughput", "service_reliability", "learning_culture")
        for model, bands in (("you_build_it_you_run_it", {"Low", "Medium"}), ("ops_run_it", {"Medium", "High"}))
    },
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


LEARNING = ("incidents_reviewed_rate", "reviews_with_actions_rate", "actions_completed_in_30_days_rate",
            "repeat_incident_rate", "learning_predisposition")  # fmt: skip


def test_learning_predisposition_is_measured_and_named_for_both_models(warehouse: Path) -> None:
    """The four learning shares and their composite have a figure for each model, in the playbook's words."""
    table = comparison(warehouse)
    for measure in LEARNING:
        for model in ("you_build_it_you_run_it", "ops_run_it"):
            value, band, n_services, n_events = table[(measure, model)]
            assert value is not None and 0 <= value <= 100, f"{measure} {model}: {value}"
            assert band in {"Act on insights", "Rush to fix"}, f"{measure} {model}: {band}"
            assert n_services > 0 and n_events > 0


def test_who_gets_paged_follows_the_operating_model(warehouse: Path) -> None:
    """Product teams answer their own services' pages under You Build It You Run It, operations under Ops Run It."""
    table = comparison(warehouse)
    owning_first = {model: table[("developer_operability_incentives", model)][0] for model in MODELS}
    assert owning_first["you_build_it_you_run_it"] > 50 > owning_first["ops_run_it"], owning_first
    for measure in ("pages_per_oncall_person_per_week", "out_of_hours_page_rate"):
        for model in MODELS:
            value, _, n_services, n_events = table[(measure, model)]
            assert value is not None and value >= 0 and n_services > 0 and n_events > 0, (measure, model, value)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kinds = dict(con.execute("select team_kind, sum(pages) from marts.team_pages_weekly group by 1").fetchall())
    assert kinds.get("product", 0) > 0 and kinds.get("operations", 0) > 0, kinds


MODELS = ("you_build_it_you_run_it", "ops_run_it")


def test_every_registered_stream_landed(warehouse: Path) -> None:
    """The sample organisation serves every stream of every registered connector, so each raw table has rows."""
    expected = sorted(f"raw_{name}.{stream.name}" for name, cls in CONNECTORS.items() for stream in cls.streams)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        existing = {
            t for (t,) in con.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall()
        }
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in expected if t in existing}
    assert not [t for t in expected if not counts.get(t)], f"registered streams without rows: {counts}"


def test_the_run_is_recorded_in_dagster_home(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run is in the instance's run storage, succeeded, and materialized the marts (what `make dev` shows)."""
    from dagster import AssetKey, DagsterInstance, DagsterRunStatus

    monkeypatch.setenv("DAGSTER_HOME", str(warehouse.parent / "dagster_home"))
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [("daily_refresh", DagsterRunStatus.SUCCESS)]
        latest = instance.get_latest_materialization_event(AssetKey(["marts", "operating_model_comparison"]))
    assert latest is not None and latest.run_id == runs[0].run_id


def bi_guide_queries() -> dict[str, list[str]]:
    """The ```sql blocks of docs/bi.md's example queries, by the heading they sit under."""
    examples = BI_DOC.read_text().split("## Example queries", 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^### (.+)$", examples, flags=re.MULTILINE)[1:]
    headings, bodies = sections[0::2], sections[1::2]
    return {h: re.findall(r"```sql\n(.*?)```", b, flags=re.DOTALL) for h, b in zip(headings, bodies, strict=True)}


@pytest.mark.parametrize("heading", list(bi_guide_queries()))
def test_bi_guide_example_answers_from_the_published_snapshot(warehouse: Path, heading: str) -> None:
    queries = bi_guide_queries().get(heading)
    assert queries, f"docs/bi.md has no SQL under '### {heading}'"
    snapshot = serving_paths(warehouse).snapshot
    with duckdb.connect(str(snapshot), read_only=True) as con:
        for query in queries:
            assert con.execute(query).fetchall(), f"'{heading}' returned no rows:\n{query}"


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


def test_every_service_deploys_and_stays_available_as_its_model_does(warehouse: Path) -> None:
    """Per service, over the whole weeks of the comparison window of services that kept their model there."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """with window_ as (select min(window_start) as lo, max(window_end) as hi
                             from marts.operating_model_comparison)
               select d.service, any_value(d.operating_model), avg(d.deployments),
                      100 * (1 - sum(r.downtime_minutes) / sum(r.period_minutes))
               from marts.deployment_throughput as d
               join marts.service_reliability as r using (service, week_start)
               cross join window_ as w
               where d.week_start >= w.lo and d.week_start + 7 <= w.hi
               group by d.service
               having count(distinct d.operating_model) = 1 and not bool_or(d.has_operating_model_change)"""
        ).fetchall()
    assert {model for _, model, _, _ in rows} == {"you_build_it_you_run_it", "ops_run_it"}
    for service, model, per_week, availability in rows:
        if model == "you_build_it_you_run_it":
            assert per_week >= 1, f"{service} deploys at least weekly ({per_week:.2f} a week)"
        else:
            assert 12 / 52 <= per_week < 1, f"{service} releases fortnightly to monthly ({per_week:.2f} a week)"
        assert 95 <= availability <= 99.99, f"{service}: {availability:.3f}% available"


def test_lead_times_span_the_playbook_ranges(warehouse: Path) -> None:
    """You Build It You Run It: minutes to days; Ops Run It: days to weeks and more (the tails, not only the median)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        spans = dict(
            (model, (lo, hi))
            for model, lo, hi in con.execute(
                "select operating_model, min(deployment_lead_time_hours), max(deployment_lead_time_hours)"
                " from marts.fct_changes where is_shipped group by all"
            ).fetchall()
        )
    assert spans["you_build_it_you_run_it"][0] < 1 and spans["you_build_it_you_run_it"][1] > 24
    assert spans["ops_run_it"][0] < 7 * 24 and spans["ops_run_it"][1] > 7 * 24


def test_report_prints_table_1_then_the_migrations(warehouse: Path) -> None:
    from orchestration.report import comparison_table

    text = comparison_table(warehouse)
    assert text.index("Deployment frequency") < text.index("Migrations")
    assert "You Build It You Run It" in text and "Ops Run It" in text
    # every row of the playbook's Table 1: a figure, or the reason there is none yet
    for row in ("Learning predisposition", "Developer operability incentives", "Total cost of ownership %"):
        assert row in text, row
    # the sample's catalog prices every service and team: each cost row has figures, and its assumptions are printed
    assert "needs costs" not in text
    assert text.count("GBP per service per year") >= 6
    assumptions = text[text.index("Cost assumptions") : text.index("Deployments counted")]
    for assumed in ("unavailability_per_hour: 2,000 GBP", "delay_per_week: 1,500 GBP", "on_call: operations_team"):
        assert assumed in assumptions, assumed


def test_costs_add_up_from_their_components_to_table_1(warehouse: Path) -> None:
    """Each dimension's cost in Table 1 is the sum of its components in operating_model_costs, for both models."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """select c.measure, c.operating_model, c.value, sum(k.cost_per_service_year), count(k.component)
               from marts.operating_model_comparison as c
               inner join marts.operating_model_costs as k using (measure, operating_model)
               group by all"""
        ).fetchall()
    assert len(rows) == 6, rows  # three dimensions, two models
    for measure, model, value, components, n in rows:
        assert value > 0 and n >= 1, (measure, model, value)
        assert abs(value - components) <= 1e-6 * value, (measure, model, value, components)


def test_deployment_throughput_cost_matches_a_computation_from_the_fact_tables(warehouse: Path) -> None:
    """The cost of delay per service-year, recomputed here from fct_changes and the operating-model periods."""
    from sample_org.generator import SAMPLE_COSTS

    with duckdb.connect(str(warehouse), read_only=True) as con:
        start, end = con.execute(
            "select any_value(window_start), any_value(window_end) from marts.operating_model_comparison"
        ).fetchone()
        periods = con.execute(
            "select operating_model, valid_from_at, valid_to_at from marts.dim_service_operating_models"
        ).fetchall()
        changes = con.execute(
            "select operating_model, deployed_at, deployment_lead_time_hours from marts.fct_changes"
            " where is_shipped and deployment_lead_time_hours > 0"
        ).fetchall()
        figures = dict(
            con.execute(
                "select operating_model, value from marts.operating_model_comparison"
                " where measure = 'deployment_throughput_cost'"
            ).fetchall()
        )
    utc = dt.UTC
    lo = dt.datetime.combine(start, dt.time(), utc)  # the sample organisation's clock is UTC
    hi = dt.datetime.combine(end, dt.time(), utc)
    years: dict[str, float] = {}
    for model, valid_from, valid_to in periods:
        overlap = min(valid_to or hi, hi) - max(valid_from, lo)
        if overlap.total_seconds() > 0:
            years[model] = years.get(model, 0.0) + overlap.total_seconds() / 86400 / 365.25
    cost: dict[str, float] = {}
    for model, deployed_at, hours in changes:
        if lo <= deployed_at < hi:
            cost[model] = cost.get(model, 0.0) + hours / 168 * SAMPLE_COSTS["delay_per_week"]
    for model in MODELS:
        expected = cost[model] / years[model]
        assert abs(figures[model] - expected) <= 1e-9 * expected, (model, figures[model], expected)


UNIONS = "intermediate.int_{}_unioned"
# the models that rebuild by service (macros/incremental_by_service.sql), with int_deployments, which one reads
BY_SERVICE = ("int_deployments", "int_mainline_commits", "int_changes", "int_change_shipments")
KEEPING_FINGERPRINTS = ("int_mainline_commits_unioned", "int_changes_unioned", "int_change_commits_unioned",
                        "int_mainline_commits", "int_changes")  # fmt: skip
KINDS = ("deployments", "deployment_statuses", "mainline_commits", "changes", "change_commits", "incidents",
         "page_responses", "responder_teams", "reviews", "actions")  # fmt: skip


def test_a_later_run_unions_what_unioning_everything_would(warehouse: Path, tmp_path: Path) -> None:
    """Every branch of every union, incremental against whole. One raw record in 40 of every source delivered again
    by a later sync (a GitHub commit's message changed) and typed again; then one typed record in 5 of every base
    model changed behind the loader's back, as if typed anew (its text columns marked, its `_loaded_at` moved): the
    unions built again hold those changes, and what the unions built from scratch hold."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        raw = con.execute(
            "select schema_name, table_name from duckdb_columns() where schema_name like 'raw_%'"
            " and schema_name <> 'raw_catalog' and column_name = '_loaded_at'"
        ).fetchall()
        for schema, table in raw:
            con.execute(f"update {schema}.{table} set _loaded_at = now() where hash(_pk) % 40 = 0")
        con.execute(
            """update raw_github.commits set payload = json_merge_patch(payload, '{"commit": {"message": "reworded"}}')
            where hash(_pk) % 40 = 0"""
        )
    result = dbt(["run", "--select", "base_*"], copy, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(copy)) as con:
        text_columns: dict[str, list[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'staging'"
            " and table_name like 'base_%' and data_type = 'VARCHAR'"
            " and column_name not in ('record_id', '_sync_id', 'source', 'source_table')"
        ).fetchall():
            text_columns.setdefault(table, []).append(column)
        for table, columns in text_columns.items():
            marked = ", ".join(f"{c} = {c} || ' (retyped)'" for c in columns)
            con.execute(f"update staging.{table} set _loaded_at = now(), {marked} where hash(record_id) % 5 = 1")
    result = dbt(["run", "--select", "*_unioned", *BY_SERVICE], copy, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    assert_fingerprints_kept(copy, *KEEPING_FINGERPRINTS)
    by_service = {m: sorted(query(copy, f"select * from intermediate.{m}"), key=str) for m in BY_SERVICE}

    def unions(path: Path) -> dict[tuple[str, str], list[tuple]]:
        """Each union's rows by (kind, source)."""
        by_source: dict[tuple[str, str], list[tuple]] = {}
        with duckdb.connect(str(path), read_only=True) as con:
            for kind in KINDS:
                for row in con.execute(f"select * from {UNIONS.format(kind)}").fetchall():
                    by_source.setdefault((kind, row[0]), []).append(row)
        return {key: sorted(rows, key=str) for key, rows in by_source.items()}

    before, later = unions(warehouse), unions(copy)
    assert any("reworded" in str(row) for row in later["mainline_commits", "github"]), "re-delivered commits read"
    # the changes reach both kinds of branch: records re-read one by one, and sources re-read whole
    changed = {
        source
        for kind, source in before.keys() | later.keys()
        if before.get((kind, source)) != later.get((kind, source))
    }
    assert changed >= {"github", "gitlab", "jira", "github_actions", "jenkins", "pagerduty"}
    result = dbt(["run", "--select", "*_unioned", *BY_SERVICE, "--full-refresh"], copy, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    assert later == unions(copy)
    # the models past the unions that rebuild by service, from the fingerprints the unions kept as they changed
    assert by_service == {m: sorted(query(copy, f"select * from intermediate.{m}"), key=str) for m in BY_SERVICE}
    assert_fingerprints_kept(copy, *KEEPING_FINGERPRINTS)

    # then a deployment that shipped changes is typed again with a sha off the mainline, nothing else: its service's
    # shipments change through int_deployments alone
    with duckdb.connect(str(copy)) as con:
        con.execute(
            """update staging.base_github__deployments set sha = repeat('f', 40), _loaded_at = now()
            where record_id = (
                select min(record_id) from intermediate.int_deployments_unioned
                where source_table = 'raw_github.deployments'
                    and deployment_id in (select deployment_id from intermediate.int_change_shipments)
            )"""
        )
    shipments = query(copy, "select * from intermediate.int_change_shipments")
    result = dbt(["run", "--select", "int_deployments_unioned", *BY_SERVICE], copy, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    by_service = {m: sorted(query(copy, f"select * from intermediate.{m}"), key=str) for m in BY_SERVICE}
    assert by_service["int_change_shipments"] != sorted(shipments, key=str)
    result = dbt(["run", "--select", *BY_SERVICE, "--full-refresh"], copy, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    assert by_service == {m: sorted(query(copy, f"select * from intermediate.{m}"), key=str) for m in BY_SERVICE}

    # what a per-record branch's delete relies on: its rows carry its one base model's raw table and record ids
    nodes = json.loads((tmp_path / "target" / "manifest.json").read_text())
    declared = [n for n in nodes["nodes"].values() if n["config"].get("meta", {}).get("derived_per_record")]
    assert len(declared) >= 10
    for node in declared:
        bases, pending = set(), list(node["depends_on"]["nodes"])
        while pending:
            above = nodes["nodes"].get(pending.pop())
            if above and above["name"].startswith("base_"):
                bases.add(above["unique_id"])
            elif above and not above["name"].startswith("stg_catalog__"):
                pending.extend(above["depends_on"]["nodes"])
        assert len(bases) == 1, f"{node['name']} reads {len(bases)} base models"
        base = nodes["nodes"][bases.pop()]
        raw = nodes["sources"][next(d for d in base["depends_on"]["nodes"] if d.startswith("source."))]
        with duckdb.connect(str(copy), read_only=True) as con:
            found = con.execute(
                f"select distinct source_table, record_id in (select record_id from staging.{base['name']})"
                f" from staging.{node['name']}"
            ).fetchall()
        assert set(found) <= {(f"{raw['schema']}.{raw['identifier']}", True)}, node["name"]


def test_every_data_test_ran_as_its_asset_check(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daily build leaves dbt's data tests to the batch after it: each is still one evaluated asset check."""
    from dagster import DagsterEventType, DagsterInstance

    from orchestration.dbt.assets import opmetrics_dbt_assets

    monkeypatch.setenv("DAGSTER_HOME", str(warehouse.parent / "dagster_home"))
    with DagsterInstance.get() as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
        records = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluated = {
        (e.asset_key, e.check_name): e.passed
        for e in (r.dagster_event.event_specific_data for r in records if r.dagster_event)
    }
    expected = {(k.asset_key, k.name) for k in opmetrics_dbt_assets.check_keys}
    assert expected and expected <= set(evaluated), sorted(map(str, expected - set(evaluated)))[:5]
    assert all(evaluated[k] for k in expected), [k for k in expected if not evaluated[k]]


# Each breaks what one kind of data test guards: a key, a set of values, a reference, a required value, a contract.
BREAKAGES = (
    "insert into marts.fct_deployments select * from marts.fct_deployments limit 3",
    "update marts.fct_deployments set status = 'bogus'"
    " where deployment_id in (select deployment_id from marts.fct_deployments order by 1 limit 2)",
    "update marts.fct_incidents set service = 'no-such-service'"
    " where incident_id in (select incident_id from marts.fct_incidents order by 1 limit 4)",
    "update marts.fct_changes set service = null"
    " where change_id in (select change_id from marts.fct_changes order by 1 limit 1)",
    "alter view staging.stg_jira__reviews rename to stg_jira__reviews_whole",
    "create view staging.stg_jira__reviews as select * exclude (record_id) from staging.stg_jira__reviews_whole",
)


def test_the_batch_finds_what_dbt_test_finds(warehouse: Path, tmp_path: Path) -> None:
    """On a copy of the warehouse broken in ways each kind of test catches (a duplicated key, a dangling reference, a
    null, a value out of its set, a staging model without a contract column), the daily run's batch gives every data
    test the status and failure count `dbt test` gives it."""
    from orchestration.dbt.assets import OpmetricsTranslator
    from orchestration.dbt.data_tests import catalog_of, data_tests, run_data_tests
    from orchestration.dbt.project import dbt_project

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        for statement in BREAKAGES:
            con.execute(statement)
    result = dbt(["test", "--select", "test_type:data"], copy, tmp_path / "target")
    by_dbt = {
        r["unique_id"]: (r["status"], r["failures"])
        for r in json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    }
    failing = {u for u, (status, _) in by_dbt.items() if status != "pass"}
    assert len(failing) >= 5, (failing, result.stdout[-3000:])

    manifest = json.loads(dbt_project.manifest_path.read_text())
    tests = data_tests(manifest, OpmetricsTranslator(), dbt_project)
    by_batch = {o.test.unique_id: (o.status, o.failures) for o in run_data_tests(copy, tests, catalog_of(manifest))}
    assert set(by_batch) == set(by_dbt)
    differing = {u: (by_batch[u], by_dbt[u]) for u in by_dbt if by_batch[u] != by_dbt[u]}
    assert not differing, differing
