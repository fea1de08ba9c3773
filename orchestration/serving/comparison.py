"""Table 1 from `marts.operating_model_comparison`: loading, formatting, and markdown for the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

# Okabe-Ito colours, one per operating model in its display order: distinguishable with the common colour-vision
# deficiencies.
MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")


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
    """The playbook's Table 1 from the mart: measures and operating models in display order, one cell per measure
    and model, with the labels and the playbook's expectations the mart carries (from the dbt seeds)."""

    measures: tuple[str, ...]
    models: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]
    measure_labels: dict[str, str]
    model_labels: dict[str, str]
    playbook: dict[tuple[str, str], str]  # (measure, model) -> the playbook's words, where it has a row
    not_measured: dict[str, str]  # measure -> what it needs, for the rows no operating model has a figure for
    window_start: date | None
    window_end: date | None
    as_of: date | None

    def cell(self, measure: str, model: str) -> Cell | None:
        """The figure of `measure` for operating model `model`, if the mart has one."""
        return self.cells.get((measure, model))

    def not_measured_reason(self, measure: str) -> str | None:
        """Why `measure` has no figure for any model (what the data or the catalog lacks), or None."""
        return self.not_measured.get(measure)

    def measure_label(self, measure: str) -> str:
        """The measure's name as Table 1 writes it."""
        return self.measure_labels.get(measure, measure)

    def model_label(self, model: str | None) -> str:
        """The operating model's name as the playbook writes it."""
        return self.model_labels.get(model or "", model or "-")

    def colour(self, model: str | None) -> str:
        """The model's colour in charts: one per model, in display order."""
        if model not in self.models:
            return "#999999"
        return MODEL_COLOURS[self.models.index(model) % len(MODEL_COLOURS)]

    def unit(self, measure: str) -> str:
        """The unit of `measure`'s values."""
        return next((c.unit for (m, _), c in self.cells.items() if m == measure), "")


def load_table_1(con: duckdb.DuckDBPyConnection) -> Table1:
    """Table 1 as the mart has it, measures and models in the mart's display order."""
    rows = con.execute(
        """select measure, operating_model, value, p85, unit, band, band_confidence, dora_band,
                  coalesce(n_services, 0), coalesce(n_events, 0), measure_label, operating_model_label,
                  playbook_expectation, not_measured_reason, window_start, window_end, as_of
           from marts.operating_model_comparison
           order by display_order, measure, operating_model_order, operating_model"""
    ).fetchall()
    measures: dict[str, str] = {}
    models: dict[str, str] = {}
    cells: dict[tuple[str, str], Cell] = {}
    playbook: dict[tuple[str, str], str] = {}
    reasons: dict[str, list[str | None]] = {}
    for measure, model, value, p85, unit, band, confidence, dora, n_services, n_events, *labels in rows:
        measure_label, model_label, expectation, reason = labels[:4]
        measures.setdefault(measure, measure_label or measure)
        models.setdefault(model, model_label or model)
        cells[(measure, model)] = Cell(value, p85, unit or "", band, confidence, dora, n_services, n_events)
        if expectation:
            playbook[(measure, model)] = expectation
        reasons.setdefault(measure, []).append(reason)
    # a row with a figure for one model shows it; a row with none for any says what it needs, once
    not_measured = {m: r[0] for m, r in reasons.items() if r[0] and all(x == r[0] for x in r)}
    window_start, window_end, as_of = rows[0][-3:] if rows else (None, None, None)
    return Table1(
        tuple(measures), tuple(models), cells, measures, models, playbook, not_measured, window_start, window_end, as_of
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
    if unit.endswith(" per service per year"):  # money: whole units read best
        return f"{value:,.0f} {unit}"
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


def _row_cells(table: Table1, measure: str) -> list[str]:
    """One summary per model, or the reason the row has no figure yet in every model's column."""
    reason = table.not_measured_reason(measure)
    if reason:
        return [reason for _ in table.models]
    return [cell_summary(table.cell(measure, model)) for model in table.models]


def table_1_markdown(table: Table1) -> str:
    """Table 1 side by side, as the Dagster UI shows it: our figure and band, p85, n, and the playbook's words."""
    if not table.measures:
        return "_operating_model_comparison is empty_"
    rows = [
        [
            f"**{table.measure_label(m)}**",
            *_row_cells(table, m),
            " / ".join(table.playbook.get((m, model), "-") for model in table.models),
        ]
        for m in table.measures
    ]
    headers = ["measure", *(table.model_label(m) for m in table.models), "playbook (in the same order)"]
    window = f"Window {table.window_start} to {table.window_end} (as of {table.as_of}).\n\n"
    return window + markdown_table(headers, rows)


def load_cost_assumptions(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(subject_kind, subject, assumption, assumed_value, unit) of `marts.cost_assumptions`."""
    return con.execute(
        """select subject_kind, subject, assumption, assumed_value, unit
           from marts.cost_assumptions order by subject_kind, subject, assumption"""
    ).fetchall()


def cost_assumption_lines(rows: list[tuple]) -> list[str]:
    """The assumptions behind the cost rows, one line per assumed figure: 200 services that share it fit one line."""
    if not rows:
        return []
    by_value: dict[tuple[str, str, float | None], list[str]] = {}
    other: list[str] = []
    for kind, subject, assumption, value, unit in rows:
        if kind in ("service", "team"):
            by_value.setdefault((kind, assumption, value), []).append(subject)
        elif kind == "operating_model":
            other.append(f"{subject} {assumption}")
        else:
            other.append(f"{subject} {assumption} {value:g} {unit}")
    units = {(kind, assumption): unit for kind, _, assumption, _, unit in rows}
    lines = []
    for (kind, assumption, value), subjects in by_value.items():
        figure = "not given" if value is None else f"{value:,.0f} {units[kind, assumption]}"
        named = ", ".join(subjects) if len(subjects) <= 4 else f"{len(subjects)} {kind}s"
        lines.append(f"{kind} {assumption}: {figure} ({named})")
    return lines + other
