"""Table 1 from `marts.operating_model_comparison`: loading, formatting, and markdown for the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

YBIYRI = "you_build_it_you_run_it"
OPS = "ops_run_it"
MODELS: tuple[str, ...] = (YBIYRI, OPS)
MODEL_LABELS = {YBIYRI: "You Build It You Run It", OPS: "Ops Run It"}
# Labels only; which measures exist, their order, units and bands come from the mart (seeded in dbt).
MEASURE_LABELS = {
    "deployment_frequency": "Deployment frequency",
    "deployment_lead_time": "Deployment lead time",
    "availability_level": "Availability level",
    "time_to_restore": "Time to restore availability",
    "time_to_generate_insights": "Time to generate insights",
    "time_to_implement_actions": "Time to implement actions",
    "change_failure_rate": "Change failure rate",
}
# The playbook's own Table 1, shown beside our figures as the picture being redrawn.
PLAYBOOK = {
    ("deployment_frequency", YBIYRI): "Daily+ to weekly",
    ("deployment_frequency", OPS): "Fortnightly to monthly",
    ("deployment_lead_time", YBIYRI): "Minutes to days",
    ("deployment_lead_time", OPS): "Days to months",
    ("availability_level", YBIYRI): "95.0% to 99.99%",
    ("availability_level", OPS): "95.0% to 99.99%",
    ("time_to_restore", YBIYRI): "Minutes to hours",
    ("time_to_restore", OPS): "Hours to days",
    ("time_to_generate_insights", YBIYRI): "Hours to days",
    ("time_to_generate_insights", OPS): "Hours to days",
    ("time_to_implement_actions", YBIYRI): "Hours to days",
    ("time_to_implement_actions", OPS): "Weeks to months",
}


@dataclass(frozen=True)
class Cell:
    """One measure for one operating model."""

    value: float | None
    p85: float | None
    unit: str
    band: str | None
    band_confidence: str | None
    dora_band: str | None
    n_services: int
    n_events: int


@dataclass(frozen=True)
class Table1:
    """The playbook's Table 1 from the mart: measures in display order, one cell per measure and model."""

    measures: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]
    window_start: date | None
    window_end: date | None
    as_of: date | None

    def cell(self, measure: str, model: str) -> Cell | None:
        """The figure of `measure` for operating model `model`, if the mart has one."""
        return self.cells.get((measure, model))


def measure_label(measure: str) -> str:
    """The measure's name as Table 1 writes it; an unknown measure gets its identifier in words."""
    return MEASURE_LABELS.get(measure, measure.replace("_", " ").capitalize())


def load_table_1(con: duckdb.DuckDBPyConnection) -> Table1:
    """Table 1 as the mart has it, measures in the mart's display order."""
    rows = con.execute(
        """select measure, operating_model, value, p85, unit, band, band_confidence, dora_band,
                  coalesce(n_services, 0), coalesce(n_events, 0), display_order, window_start, window_end, as_of
           from marts.operating_model_comparison
           order by display_order, measure, operating_model"""
    ).fetchall()
    measures: list[str] = []
    cells: dict[tuple[str, str], Cell] = {}
    for measure, model, value, p85, unit, band, confidence, dora, n_services, n_events, *_ in rows:
        if measure not in measures:
            measures.append(measure)
        cells[(measure, model)] = Cell(value, p85, unit or "", band, confidence, dora, n_services, n_events)
    first = rows[0] if rows else None
    return Table1(
        tuple(measures), cells, first[11] if first else None, first[12] if first else None, first[13] if first else None
    )


def format_value(value: float | None, unit: str) -> str:
    """A figure in words a person reads at a glance: 47 min, 9.6 h, 12.3 d, 3.5 / week, 99.71%."""
    if value is None:
        return "-"
    if unit == "hours":
        if abs(value) < 1:
            return f"{value * 60:.0f} min"
        if abs(value) < 48:
            return f"{value:.1f} h"
        return f"{value / 24:.1f} d"
    if unit == "percent":
        return f"{value:.2f}%" if value > 90 else f"{value:.1f}%"
    if unit == "deployments per week":
        return f"{value:.2f} / week"
    return f"{value:,.2f} {unit}"


def cell_summary(cell: Cell | None) -> str:
    """value, band, p85 and sample sizes in one line, e.g. `1.8 h (Hours), p85 5.9 h, n=666 from 12 services`."""
    if cell is None:
        return "-"
    parts = [format_value(cell.value, cell.unit)]
    if cell.band:
        parts[0] += f" ({cell.band})"
    if cell.p85 is not None:
        parts.append(f"p85 {format_value(cell.p85, cell.unit)}")
    sample = f"n={cell.n_events} from {cell.n_services} services"
    if cell.band_confidence == "low":
        sample += ", low confidence"
    parts.append(sample)
    return ", ".join(parts)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table; pipes and newlines inside cells are escaped."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table_1_markdown(table: Table1) -> str:
    """Table 1 side by side, as the Dagster UI shows it: our figure and band, p85, n, and the playbook's words."""
    if not table.measures:
        return "_operating_model_comparison is empty_"
    rows = [
        [f"**{measure_label(m)}**"]
        + [cell_summary(table.cell(m, model)) for model in MODELS]
        + [" / ".join(PLAYBOOK[(m, model)] for model in MODELS) if (m, YBIYRI) in PLAYBOOK else "-"]
        for m in table.measures
    ]
    headers = ["measure", *(MODEL_LABELS[m] for m in MODELS), "playbook (YBIYRI / Ops)"]
    window = f"Window {table.window_start} to {table.window_end} (as of {table.as_of}).\n\n"
    return window + markdown_table(headers, rows)
