"""How the cost rows of Table 1 read: a figure where a model has one, what the catalog lacks where none has, and the
assumptions behind the figures, in the text table and in report.html."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.serving.comparison import Table1, cost_assumption_lines, format_value, load_table_1
from orchestration.serving.report_html import _costs_html
from tests.serving.fixtures import create_mart_tables

YBIYRI, OPS = "you_build_it_you_run_it", "ops_run_it"
NEEDS = "needs costs in the catalog for services of both operating models: costs.unavailability_per_hour"


def _comparison(tmp_path: Path, rows: list[tuple]) -> Table1:
    con = duckdb.connect(str(tmp_path / "comparison.duckdb"))
    create_mart_tables(con)
    for measure, model, value, unit, reason in rows:
        con.execute(
            """insert into marts.operating_model_comparison
                   (measure, operating_model, value, unit, n_services, n_events, display_order, measure_label,
                    operating_model_label, operating_model_order, not_measured_reason, window_start, window_end, as_of)
               values (?, ?, ?, ?, 1, 1, 1, ?, ?, ?, ?, ?, ?, ?)""",
            [
                measure,
                model,
                value,
                unit,
                measure,
                model,
                1 if model == YBIYRI else 2,
                reason,
                date(2026, 1, 1),
                date(2026, 4, 1),
                date(2026, 4, 1),
            ],
        )
    table = load_table_1(con)
    con.close()
    return table


def test_a_cost_row_with_no_figure_for_any_model_says_what_it_needs(tmp_path: Path) -> None:
    table = _comparison(
        tmp_path,
        [
            ("service_reliability_tco", YBIYRI, None, "percent", NEEDS),
            ("service_reliability_tco", OPS, None, "percent", NEEDS),
            ("service_reliability_cost", YBIYRI, 30000.0, "GBP per service per year", None),
            ("service_reliability_cost", OPS, None, "GBP per service per year", "needs costs.unavailability_per_hour"),
        ],
    )
    assert table.not_measured_reason("service_reliability_tco") == NEEDS
    # one model priced: its figure shows, the other's cell is empty rather than the whole row replaced by a reason
    assert table.not_measured_reason("service_reliability_cost") is None
    cell = table.cell("service_reliability_cost", YBIYRI)
    assert cell is not None and format_value(cell.value, cell.unit) == "30,000 GBP per service per year"


def test_assumptions_are_listed_once_per_figure_with_the_subjects_or_their_count() -> None:
    rows = [("service", f"s{i}", "unavailability_per_hour", 2000.0, "GBP per hour of downtime") for i in range(6)]
    rows += [
        ("service", "legacy", "unavailability_per_hour", None, "GBP per hour of downtime"),
        ("team", "ops", "hourly", 75.0, "GBP per person-hour"),
        ("operating_model", OPS, "on_call: operations_team", None, "who is on call"),
    ]
    lines = cost_assumption_lines(rows)
    assert "service unavailability_per_hour: 2,000 GBP per hour of downtime (6 services)" in lines
    assert "service unavailability_per_hour: not given (legacy)" in lines
    assert "team hourly: 75 GBP per person-hour (ops)" in lines
    assert f"{OPS} on_call: operations_team" in lines


def test_report_costs_section_lists_components_in_table_1_order_and_the_assumptions(tmp_path: Path) -> None:
    table = _comparison(
        tmp_path,
        [("deployment_throughput_cost", YBIYRI, 1.0, "GBP per service per year", None)]
        + [("service_reliability_cost", m, 1.0, "GBP per service per year", None) for m in (YBIYRI, OPS)],
    )
    costs = pd.DataFrame(
        [
            ("service_reliability_cost", "downtime", "opportunity", YBIYRI, 26124.4, "GBP", 12, 0),
            ("service_reliability_cost", "downtime", "opportunity", OPS, 375908.0, "GBP", 8, 0),
            ("deployment_throughput_cost", "delay", "opportunity", YBIYRI, 6689.0, "GBP", 12, 0),
        ],
        columns=[
            "measure",
            "component",
            "cost_kind",
            "operating_model",
            "cost_per_service_year",
            "currency",
            "n_services",
            "n_unpriced",
        ],
    )
    page = "".join(_costs_html(table, costs, [("team", "ops", "hourly", 75.0, "GBP per person-hour")]))
    assert page.index("deployment_throughput_cost: delay") < page.index("service_reliability_cost: downtime")
    assert "<td>26,124</td><td>375,908</td>" in page
    assert "<td>6,689</td><td>-</td>" in page  # Ops has no figure for that component
    assert "<li>team hourly: 75 GBP per person-hour (ops)</li>" in page
    assert _costs_html(table, costs.iloc[0:0], []) == []
