"""The one-more-day A/B script's logic: its variants, the environment each run gets, the figures and the report.

No server and no `opmetrics run`: the runs themselves are `benchmarks.scale.run_cli`'s, covered with the scale
benchmark. No timing assertion.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from benchmarks.one_more_day import (
    Variant,
    code_digests,
    differing_code,
    environment,
    format_report,
    parse_args,
    parse_variant,
    run_figures,
)


def test_a_variant_is_a_label_with_optional_environment_variables() -> None:
    assert parse_variant("as-is") == Variant("as-is", {})
    assert parse_variant("four:OPMETRICS_DBT_THREADS=4, PYTHONPATH=/tmp/a=b") == Variant(
        "four", {"OPMETRICS_DBT_THREADS": "4", "PYTHONPATH": "/tmp/a=b"}
    )
    assert parse_variant("empty:X=") == Variant("empty", {"X": ""})


@pytest.mark.parametrize("text", [":X=1", "label:X", "label:=1"])
def test_a_malformed_variant_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="variant"):
        parse_variant(text)


def test_labels_must_differ_and_the_default_is_one_run_as_is() -> None:
    assert parse_args([]).variants == [Variant("as-is")]
    with pytest.raises(SystemExit):
        parse_args(["--variant", "a:X=1", "--variant", "a:X=2"])


def test_a_variants_environment_holds_for_its_runs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMD_KEPT", "before")
    monkeypatch.delenv("OMD_NEW", raising=False)
    with environment({"OMD_KEPT": "during", "OMD_NEW": "during"}):
        assert (os.environ["OMD_KEPT"], os.environ["OMD_NEW"]) == ("during", "during")
    assert os.environ["OMD_KEPT"] == "before"
    assert "OMD_NEW" not in os.environ


def run_result(seconds: float, span: float, dbt: float, ok: bool = True) -> dict[str, object]:
    """The parts of a `run_cli` result the script reads."""
    return {
        "ok": ok,
        "seconds": seconds,
        "usage": {"cpu_seconds": 2 * seconds, "kernel_max_rss_mib": 800.0},
        "summary": {"run_s": span, "buckets_s": {"dbt": dbt, "raw_sync": 4.0, "serving": 2.5}},
    }


def test_the_time_outside_the_runs_events_is_the_wall_time_less_their_span() -> None:
    figures = run_figures(run_result(41.5, 33.0, 24.0))
    assert figures["outside_events_s"] == 8.5
    assert (figures["dbt_s"], figures["syncs_s"], figures["serving_s"]) == (24.0, 4.0, 2.5)
    assert run_figures({"ok": False, "seconds": 3.0})["outside_events_s"] is None


def test_the_report_gives_each_run_and_the_median_of_the_runs_that_succeeded() -> None:
    runs = {
        "as-is": [{"ok": True, **run_figures(run_result(s, s - 8, 24.0))} for s in (40.0, 44.0, 42.0)],
        "other": [
            {"ok": True, **run_figures(run_result(38.0, 30.0, 22.0))},
            {"ok": False, **run_figures(run_result(90.0, 80.0, 70.0))},
        ],
    }
    lines = format_report(runs).splitlines()
    medians = {line.split()[0]: line.split() for line in lines if " med " in line}
    assert float(medians["as-is"][2]) == 42.0
    assert float(medians["other"][2]) == 38.0  # the failed run is left out of the median
    assert sum("FAILED" in line for line in lines) == 1


def test_the_code_digests_are_read_from_the_comments_dbt_leaves(tmp_path: Path) -> None:
    """An incremental model's comment is its digest; a union's starts with it; other comments are not digests."""
    digest, union_digest = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
    warehouse = _warehouse_with_comments(
        tmp_path / "warehouse.duckdb",
        {
            "intermediate.int_changes": digest,
            "intermediate.int_changes_unioned": union_digest + ' {"base_github__pull_requests": "2026-12-06"}',
            "marts.fct_changes": "One row per change.",
        },
        view={"staging.stg_github__commits": digest},
    )
    assert code_digests(warehouse) == {
        "intermediate.int_changes": digest,
        "intermediate.int_changes_unioned": union_digest,
        "staging.stg_github__commits": digest,
    }


def _warehouse_with_comments(path: Path, tables: dict[str, str], view: dict[str, str]) -> Path:
    """A DuckDB file holding `tables` and `view` (`schema.name`: comment), as dbt leaves them."""
    con = duckdb.connect(str(path))
    for name, comment in tables.items():
        con.execute(f"create schema if not exists {name.split('.')[0]}")
        con.execute(f"create table {name} (service varchar)")
        con.execute(f"comment on table {name} is '{comment.replace(chr(39), chr(39) * 2)}'")
    for name, comment in view.items():
        con.execute(f"create schema if not exists {name.split('.')[0]}")
        con.execute(f"create view {name} as select 1 as one")
        con.execute(f"comment on view {name} is '{comment}'")
    con.close()
    return path


def test_a_run_built_by_other_code_than_the_base_is_named_and_marked() -> None:
    base = {"intermediate.int_changes": "a" * 32, "staging.stg_github__commits": "b" * 32}
    assert differing_code(base, dict(base)) == []
    # a relation the run no longer has is not one it rebuilt
    assert differing_code(base, {"intermediate.int_changes": "a" * 32}) == []
    assert differing_code(base, {**base, "staging.stg_github__commits": "c" * 32}) == ["staging.stg_github__commits"]
    runs = {"new": [{"ok": True, "code_differs": 1, **run_figures(run_result(50.0, 40.0, 30.0))}]}
    assert "other code than the base" in format_report(runs)
    assert "other code than the base" not in format_report(
        {"same": [{"ok": True, **run_figures(run_result(50.0, 40.0, 30.0))}]}
    )
