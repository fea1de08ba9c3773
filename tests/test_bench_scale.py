"""The scale benchmark's logic on canned data: the event log's summary, the table, the goals, the arguments, the
process-tree sampler. No server, no `opmetrics run`, no timing assertion; dlt only where it is installed."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import duckdb
import pytest

from benchmarks.history_diff import compare, fingerprint
from benchmarks.scale import github_repositories, history_lengths, parse_args
from benchmarks.scale_dlt import RESOURCES
from benchmarks.scale_events import Event, peak_rss_by_step, step_bucket, summarize_run
from benchmarks.scale_table import format_table, github_comparison, goal_verdicts, incremental_growth, rss_growth

T0 = 1_000_000.0


def canned_events() -> list[Event]:
    """A run with a GitHub sync (two streams, raw checks after the sync's last log line), dbt, GX and serving."""

    def at(dt: float, kind: str, step: str | None = None, **kw: object) -> Event:
        return Event(T0 + dt, kind, step, **kw)  # type: ignore[arg-type]

    raw = {"requests": 30, "dagster/row_count": 0}
    return [
        at(0, "PIPELINE_START"),
        at(0.5, "ASSET_CHECK_EVALUATION_PLANNED", asset="raw_github/deployments", check="primary_key_unique"),
        at(0.6, "ASSET_MATERIALIZATION_PLANNED", "serving__report_html", asset="serving/report_html"),
        at(1, "STEP_START", "sync_github"),
        at(2, "LOG", "sync_github", message="github.deployments [acme/a]: read 1 pages"),
        at(9, "LOG", "sync_github", message="github: merged {...} (30 requests)"),
        at(10, "ASSET_MATERIALIZATION", "sync_github", asset="raw_github/deployments",
           metadata={**raw, "records_merged": 100, "dagster/row_count": 100}),
        at(10.1, "ASSET_CHECK_EVALUATION", "sync_github", asset="raw_github/deployments", check="primary_key_unique",
           metadata={"passed": True}),
        at(11, "ASSET_MATERIALIZATION", "sync_github", asset="raw_github/commits",
           metadata={**raw, "records_merged": 300, "dagster/row_count": 300}),
        at(11.1, "ASSET_CHECK_EVALUATION", "sync_github", asset="raw_github/commits", check="fresh",
           metadata={"passed": False}),
        at(12, "STEP_SUCCESS", "sync_github"),
        at(12, "STEP_START", "service_catalog"),
        at(12.5, "ASSET_MATERIALIZATION", "service_catalog", asset="raw_catalog/services",
           metadata={"dagster/row_count": 3}),
        at(13, "STEP_SUCCESS", "service_catalog"),
        at(13, "STEP_START", "opmetrics_dbt_assets"),
        # Two threads: a model of 4 s and a test of 4 s run side by side, then a model of 2 s.
        at(20, "ASSET_MATERIALIZATION", "opmetrics_dbt_assets", asset="marts/fct_deployments",
           metadata={"Execution Duration": 4.0, "unique_id": "model.opmetrics.fct_deployments"}),
        at(20, "ASSET_CHECK_EVALUATION", "opmetrics_dbt_assets", asset="marts/fct_deployments", check="unique_id",
           metadata={"Execution Duration": 4.0, "unique_id": "test.opmetrics.unique_id", "passed": True}),
        at(22, "ASSET_MATERIALIZATION", "opmetrics_dbt_assets", asset="marts/deployment_throughput",
           metadata={"Execution Duration": 2.0, "unique_id": "model.opmetrics.deployment_throughput"}),
        at(25, "STEP_SUCCESS", "opmetrics_dbt_assets"),
        at(25, "STEP_START", "marts_gx_suites"),
        at(30, "ASSET_CHECK_EVALUATION", "marts_gx_suites", asset="marts/fct_deployments", check="gx_suite",
           metadata={"passed": True}),
        at(31, "STEP_SUCCESS", "marts_gx_suites"),
        at(31, "STEP_START", "serving__marts_snapshot"),
        at(32, "ASSET_MATERIALIZATION", "serving__marts_snapshot", asset="serving/marts_snapshot"),
        at(33, "STEP_SUCCESS", "serving__marts_snapshot"),
        at(33, "STEP_START", "serving__marts_snapshot_snapshot_readable"),
        at(33.5, "ASSET_CHECK_EVALUATION", "serving__marts_snapshot_snapshot_readable",
           asset="serving/marts_snapshot", check="snapshot_readable", metadata={"passed": True}),
        at(34, "STEP_SUCCESS", "serving__marts_snapshot_snapshot_readable"),
        at(34, "ENGINE_EVENT", "serving__report_html", message="Dependencies failed. Not executing."),
        at(34, "PIPELINE_SUCCESS"),
    ]  # fmt: skip


def test_events_round_trip_through_json() -> None:
    events = canned_events()
    assert [Event.from_json(e.to_json()) for e in events] == events


def test_steps_are_told_apart_by_their_events() -> None:
    by_step: dict[str, list[Event]] = {}
    for e in canned_events():
        if e.step:
            by_step.setdefault(e.step, []).append(e)
    assert {k: step_bucket(v) for k, v in by_step.items() if k != "serving__report_html"} == {
        "sync_github": "raw_sync",
        "service_catalog": "catalog",
        "opmetrics_dbt_assets": "dbt",
        "marts_gx_suites": "check_step",
        "serving__marts_snapshot": "serving",
        "serving__marts_snapshot_snapshot_readable": "check_step",
    }


def test_summary_of_a_run() -> None:
    s = summarize_run(canned_events())
    assert s["run_s"] == 34
    # A step that never started (its planned event is at the run's start) takes no time.
    assert s["steps"]["serving__report_html"]["seconds"] == 0.0
    assert s["steps"]["serving__report_html"]["status"] == "not started"
    assert s["sources"]["github"] | {"steps": None} == {
        "requests": 30, "records_merged": 400, "rows": 400, "sync_s": 11.0, "raw_checks_s": 3.0, "steps": None,
    }  # fmt: skip
    assert s["streams"] == {
        "github/commits": {"records_merged": 300, "rows": 300},
        "github/deployments": {"records_merged": 100, "rows": 100},
    }
    assert s["buckets_s"] == {"catalog": 1.0, "check_step": 7.0, "dbt": 12.0, "raw_sync": 11.0, "serving": 2.0}
    assert s["ingest_records_per_s"] == pytest.approx(400 / 11, abs=0.1)
    checks = s["checks"]
    # The raw checks: the sync's last log line (t=9) to the step's end (t=12).
    assert checks["raw_checks_s"] == 3.0
    # dbt: nodes span 16 - 22 (first node's start to last event); the test is 4 s of the 10 s of node time.
    assert checks["dbt_tests_exec_sum_s"] == 4.0
    assert checks["dbt_tests_s"] == pytest.approx(6 * 4 / 10)
    assert checks["gx_s"] == 6.0
    assert checks["other_checks_s"] == 1.0
    assert checks["total_s"] == pytest.approx(3 + 2.4 + 6 + 1)
    assert (checks["evaluated"], checks["failed"], checks["failed_names"]) == (5, 1, ["raw_github/commits:fresh"])


def test_data_tests_run_in_the_batch_after_dbt_count_by_their_span() -> None:
    """The daily run's batch runs its tests once dbt has exited: its span counts (from its first test's start to
    its last check), beside the share of the tests dbt ran itself."""
    events = canned_events()
    dbt_end = next(i for i, e in enumerate(events) if e.kind == "STEP_SUCCESS" and e.step == "opmetrics_dbt_assets")
    batch = [
        Event(T0 + 23 + i, "ASSET_CHECK_EVALUATION", "opmetrics_dbt_assets", "marts/fct_deployments", f"pk{i}",
              {"Execution Duration": 0.5, "unique_id": f"test.opmetrics.pk{i}", "runner": "data test batch"})
        for i in range(2)
    ]  # fmt: skip
    checks = summarize_run(events[:dbt_end] + batch + events[dbt_end:])["checks"]
    assert checks["dbt_tests_exec_sum_s"] == 4.0 + 1.0
    # the span of the nodes dbt ran is unchanged by the batch after them
    assert checks["dbt_tests_s"] == pytest.approx(6 * 4 / 10 + 1.5)  # the batch: 23 - 0.5 to 24
    alone = [e for e in events if not (e.kind == "ASSET_CHECK_EVALUATION" and e.step == "opmetrics_dbt_assets")]
    assert summarize_run(alone[: dbt_end - 1] + batch + alone[dbt_end - 1 :])["checks"]["dbt_tests_s"] == 1.5


def test_raw_checks_without_log_lines_are_estimated_from_the_materializations() -> None:
    events = [e for e in canned_events() if e.kind != "LOG"]
    # First materialization at 10, one more a second later: the sync is taken to end a gap (1 s) earlier.
    assert summarize_run(events)["checks"]["raw_checks_s"] == 3.0


def sized(services: int, days: int, rss: float, with_dlt: bool) -> dict:
    """One size of a benchmark result around the canned run."""
    usage = {
        "peak_rss_mib": {"opmetrics": rss, "dbt": 300.0, "other": 12.0},
        "kernel_max_rss_mib": rss + 5,
        "peak_tree_rss_mib": rss + 320,
        "other_load_cores": 0.1,
        "timed_out": False,
    }
    run = {"ok": True, "seconds": 40.0, "usage": usage, "summary": summarize_run(canned_events()), "server_cpu_s": 3.0}
    size = {"services": services, "days": days, "full": run, "server": {"start_s": 2.0, "rss_mib": 90.0}}
    if with_dlt:
        size["incremental_same"] = size["incremental"] = {**run, "seconds": 12.5}
        size["dlt"] = {"seconds": {"total": 8.0}, "rows": {"deployments": 100, "commits": 300}, "requests": 31}
    return size


def test_peak_rss_is_attributed_to_the_steps_running_at_each_sample() -> None:
    samples = [
        (T0 + 0.2, "opmetrics", 90.0),  # before the first step
        (T0 + 5, "opmetrics", 300.0),  # sync_github
        (T0 + 11.5, "opmetrics", 350.0),
        (T0 + 14, "dbt", 700.0),  # the dbt subprocess, during the dbt step
        (T0 + 24, "opmetrics", 200.0),
        (T0 + 28, "opmetrics", 500.0),  # marts_gx_suites
        (T0 + 40, "opmetrics", 120.0),  # after the run's last step
    ]
    by_step = peak_rss_by_step(canned_events(), samples)
    assert list(by_step)[:3] == ["opmetrics_dbt_assets", "marts_gx_suites", "sync_github"]
    assert by_step["opmetrics_dbt_assets"] == {"rss_mib": 700.0, "kind": "dbt"}
    assert by_step["sync_github"] == {"rss_mib": 350.0, "kind": "opmetrics"}
    assert by_step["(outside the steps)"] == {"rss_mib": 120.0, "kind": "opmetrics"}
    assert "service_catalog" not in by_step  # no sample fell in it


def test_table_of_a_result() -> None:
    sizes = [sized(10, 30, 400.0, False), sized(10, 120, 450.0, True)]
    totals = {"first": 10, "second": 11, "identical": 9, "changed": 1, "dropped": 0, "added": 1}
    diff = {"services": 5, "totals": totals, "collections": {"github.pulls": totals}}
    sizes[0]["full"]["peak_rss_by_step"] = {"sync_github": {"rss_mib": 380.0, "kind": "opmetrics"}}
    result = {"sizes": sizes, "rss_growth": rss_growth(sizes), "history_diff": diff}
    cmp = github_comparison(sizes[1])
    assert cmp is not None
    # opmetrics: 400 records in 11 s of sync minus 3 s of raw checks; dlt: 400 in 8 s.
    assert (cmp["opmetrics_records_per_s"], cmp["dlt_records_per_s"], cmp["ratio"]) == (50.0, 50.0, 1.0)
    assert github_comparison(sizes[0]) is None
    assert result["rss_growth"]["ratio"] == pytest.approx(455 / 405, abs=0.001)
    table = format_table(result)
    lines = {line.split("|")[0].strip(): line for line in table.splitlines() if "|" in line}
    assert [cell.strip() for cell in lines["full run s"].split("|")[2:]] == ["40.0 ok", "40.0 ok"]
    assert lines["incremental run s, same history again"].rstrip().endswith("12.5 ok")
    assert lines["requests, full run: github"].split("|")[2].strip() == "30"
    assert lines["GitHub requests / record, full run"].split("|")[3].strip() == "0.075"
    assert lines["opmetrics / dlt records/s"].split("|")[3].strip() == "1.00 MISS"
    assert lines["checks' share of the full run"].split("|")[3].strip() == f"{100 * 12.4 / 40:.0f}% MISS"
    assert "4.0x the history (120 vs 30 days): 455 / 405 MiB = 1.12x (goal <= 1.25x ok)" in table
    assert "largest process by step, MiB, 10 x 30 d, full run: sync_github 380 (opmetrics)" in table
    assert "checks failed, 10 x 30 d, full run: raw_github/commits:fresh" in table
    assert (
        "history with one more day: 9 of 10 records of the first history identical (90.00%), 1 changed, 0 dropped, "
        "1 added; most changed or dropped: github.pulls 10% (on 5 of the 10 services)"
    ) in table


def test_catalog_repositories_are_read_once_with_their_branch() -> None:
    catalog = {
        "services": [
            {"name": "a", "github": {"repo": "acme/b", "branch": "trunk"}},
            {"name": "b", "github": {"repo": "acme/a"}},
            {"name": "c", "github": {"repo": "acme/b", "environment": "prod"}},
            {"name": "d", "gitlab": {"project": "acme/d"}},
        ]
    }
    assert github_repositories(catalog) == [{"repo": "acme/a", "branch": "main"}, {"repo": "acme/b", "branch": "trunk"}]


def test_history_comparison_counts_identical_changed_dropped_and_added() -> None:
    @dataclasses.dataclass
    class Repo:
        pulls: list[dict]

    @dataclasses.dataclass
    class Org:
        seed: int
        repos: dict[str, Repo]

    first = Org(7, {"acme/a": Repo([{"id": 1, "t": "x"}, {"id": 2, "t": "y"}, {"id": 3, "t": "z"}])})
    second = Org(7, {"acme/a": Repo([{"id": 1, "t": "x"}, {"id": 2, "t": "changed"}, {"id": 4, "t": "new"}])})
    diff = compare(fingerprint(first), fingerprint(second))
    assert dataclasses.asdict(diff["repos.pulls"]) == {
        "first": 3, "second": 3, "identical": 1, "changed": 1, "dropped": 1, "added": 1,
    }  # fmt: skip


def test_incremental_growth_compares_the_longest_history_with_the_shortest() -> None:
    sizes = [sized(10, 30, 400.0, False), sized(10, 120, 450.0, True)]
    assert incremental_growth(sizes) is None  # one length has incremental runs: nothing to compare
    sizes[0]["incremental"] = {**sizes[1]["incremental"], "seconds": 10.0}
    grown = incremental_growth(list(reversed(sizes)))  # by days, not by position
    assert grown == {"days": [30, 120], "seconds": [10.0, 12.5], "dbt_step_s": [12.0, 12.0], "ratio": 1.25}
    table = format_table({"sizes": sizes})
    assert (
        "incremental run after one more day at 120 vs 30 days: 12.5 / 10.0 s = 1.25x (dbt's step 12.0 / 12.0 s)"
        in table
    )
    # A failed run's time is partial: it is not compared.
    sizes[1]["incremental"] = {**sizes[1]["incremental"], "ok": False}
    assert incremental_growth(sizes) is None


def test_goal_verdicts_judge_only_what_was_measured() -> None:
    sizes = [sized(10, 30, 400.0, False), sized(10, 120, 450.0, True)]
    verdicts = {goal: (measured, verdict) for goal, measured, verdict in goal_verdicts({"sizes": sizes})}
    assert verdicts["full run <= 5 min"] == ("40.0 s", "PASS")
    assert verdicts["incremental run (one more day) <= 30 s"] == ("12.5 s", "PASS")
    assert verdicts["every process <= 1 GiB"] == ("455 MiB", "PASS")  # the kernel's figure of the larger size
    assert verdicts["ingest >= 1.5x dlt records/s"] == ("1.00x", "FAIL")
    assert verdicts["checks <= 15% of the full run"] == ("31%", "FAIL")  # 12.4 s of checks in a 40 s run
    # One history length: no growth to judge, and it says so instead of passing.
    assert verdicts["peak RSS at 4x history <= 1.25x"] == ("-", "not measured")
    # A run that failed never passes, whatever its time; a run without an event log has no checks' share.
    sizes[1]["incremental"] = {**sizes[1]["incremental"], "ok": False}
    del sizes[0]["full"]["summary"], sizes[1]["full"]["summary"]
    verdicts = {goal: verdict for goal, _, verdict in goal_verdicts({"sizes": sizes, "rss_growth": rss_growth(sizes)})}
    assert verdicts["incremental run (one more day) <= 30 s"] == "FAIL"
    assert verdicts["checks <= 15% of the full run"] == "not measured"
    assert verdicts["ingest >= 1.5x dlt records/s"] == "not measured"
    assert verdicts["peak RSS at 4x history <= 1.25x"] == "PASS"  # 455 / 405 MiB
    table = format_table({"sizes": sizes})
    assert "checks' share of the full run" in table and "not measured" in table


def test_arguments_fill_in_from_the_preset() -> None:
    preset = parse_args(["--preset", "1000"])
    assert (preset.services, preset.days, preset.history_multiples) == (1000, 730, [0.25, 1.0])
    # The preset's 4x growth: 182 and 730 days, dlt on the 730 days (the incremental runs on both).
    assert history_lengths(preset.days, preset.history_multiples) == [(182, False), (730, True)]
    one = parse_args(["--preset", "1000", "--history-multiples", "1", "1"])
    assert (one.services, one.history_multiples) == (1000, [1.0])
    small = parse_args(["--services", "5", "--days", "60", "--history-multiples", "4", "1", "--skip-dlt"])
    assert (small.services, small.days, small.history_multiples, small.skip_dlt) == (5, 60, [1.0, 4.0], True)
    assert history_lengths(60, [1.0, 4.0]) == [(60, True), (240, False)]
    assert (parse_args([]).services, parse_args([]).days, parse_args([]).history_multiples) == (30, 365, [1.0])
    with pytest.raises(SystemExit):
        parse_args(["--services", "0"])


def test_process_tree_rss_is_sampled_per_process(tmp_path: Path) -> None:
    proctree = pytest.importorskip("benchmarks.proctree")
    # A parent of ~10 MiB starts a child that holds 150 MiB for a second: the child's peak is its own, the
    # kernel's figure is the largest single process, and the tree's sum counts both.
    child = "b = bytearray(150 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(1.0)"
    parent = f"import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', {child!r}]).returncode)"
    usage = proctree.run_watched([sys.executable, "-c", parent], dict(os.environ), tmp_path, tmp_path / "log")
    assert (usage.returncode, usage.timed_out, usage.processes_seen) == (0, False, {"other": 2})
    assert usage.peak_rss_mib["other"] >= 150
    assert usage.kernel_max_rss_mib >= 150
    assert usage.peak_tree_rss_mib >= usage.peak_rss_mib["other"] + 5
    assert max(rss for _, _, rss in usage.rss_samples) == usage.peak_rss_mib["other"]
    assert proctree.process_kind(["/x/.venv/bin/python3.11", "/x/.venv/bin/dbt", "build"]) == "dbt"
    assert proctree.process_kind(["/x/.venv/bin/python3.11", "/x/.venv/bin/opmetrics-dbt", "build"]) == "dbt"
    assert proctree.process_kind(["/x/.venv/bin/opmetrics", "run"]) == "opmetrics"
    assert proctree.process_kind(["/x/.venv/bin/python", "-m", "orchestration.raw.reader"]) == "reader"


def test_dlt_source_reads_the_connectors_endpoints() -> None:
    pytest.importorskip("dlt")
    from benchmarks.scale_dlt import github_source

    source = github_source("http://127.0.0.1:1/github", "t", [{"repo": "acme/a", "branch": "trunk"}], 50)
    assert set(source.resources) >= {"deployments", "deployment_statuses", "pull_requests", "pull_commits", "commits"}
    assert set(source.selected_resources) == set(RESOURCES)  # the repositories and merged pulls only feed the rest


def test_sql_floor_runs_nodes_after_their_parents_and_leaves_the_models_relations_alone(tmp_path: Path) -> None:
    from benchmarks.dbt_sql_floor import dependency_order, run_serially, summarize

    def node(kind: str, sql: str, *parents: str, materialized: str = "table") -> dict:
        return {
            "resource_type": kind,
            "compiled_code": sql,
            "config": {"materialized": materialized},
            "depends_on": {"nodes": list(parents)},
        }

    nodes = {
        # named so that sorting alone would put each child before its parent
        "test.p.a_not_negative": node("test", "select * from main.events where n < 0", "model.p.b_events"),
        "model.p.b_events": node("model", "select * from main.c_raw", "model.p.c_raw", materialized="view"),
        "model.p.c_raw": node("model", "select * from range(3) as t(n)", "seed.p.s"),
        "seed.p.s": {"resource_type": "seed", "config": {}, "depends_on": {}},
    }
    assert dependency_order(nodes) == ["model.p.c_raw", "model.p.b_events", "test.p.a_not_negative"]

    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(warehouse) as con:
        con.execute("create table main.c_raw as select 7 as n; create table main.events as select -1 as n")
    timings = run_serially(warehouse, nodes)
    assert [(unique_id, kind) for unique_id, kind, _ in timings] == [
        ("model.p.c_raw", "table"),
        ("model.p.b_events", "view"),
        ("test.p.a_not_negative", "test"),
    ]
    with duckdb.connect(warehouse, read_only=True) as con:
        # the models' own relations are as they were: only the scratch schema was written
        assert con.execute("select n from main.c_raw").fetchall() == [(7,)]
    assert summarize(timings).splitlines()[4].split()[:2] == ["all", "3"]
