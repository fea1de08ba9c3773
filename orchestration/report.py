"""Text rendering of the marts for the terminal: the playbook's Table 1 with our figures."""

from __future__ import annotations

from pathlib import Path

from orchestration.warehouse import connect

MODELS = ("you_build_it_you_run_it", "ops_run_it")
HEADINGS = {"you_build_it_you_run_it": "You Build It You Run It", "ops_run_it": "Ops Run It"}
MEASURES = {
    "deployment_frequency": "Deployment frequency",
    "deployment_lead_time": "Deployment lead time",
    "availability": "Availability level",
    "time_to_restore": "Time to restore availability",
    "time_to_generate_insights": "Time to generate insights",
    "time_to_implement_actions": "Time to implement actions",
    "change_failure_rate": "Change failure rate",
}


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("percent", "%"):
        return f"{value:.2f}%"
    if unit in ("ratio", "rate"):
        return f"{100 * value:.1f}%"
    return f"{value:,.1f} {unit}"


def comparison_table(warehouse: Path) -> str:
    """Table 1 as text: one row per measure, one column per operating model (value, band, sample sizes)."""
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(
            """select measure, operating_model, value, unit, band, n_services, n_events, window_start, window_end
               from marts.operating_model_comparison"""
        ).fetchall()
    if not rows:
        return "operating_model_comparison is empty"
    cells: dict[tuple[str, str], str] = {}
    for measure, model, value, unit, band, n_services, n_events, _, _ in rows:
        cells[(measure, model)] = f"{_figure(value, unit)} {band or ''} (n={n_events}, {n_services} svc)"
    window = f"{rows[0][7]} to {rows[0][8]}"
    measures = [m for m in MEASURES if any(k[0] == m for k in cells)]
    measures += sorted({k[0] for k in cells} - set(measures))
    width = max(len(v) for v in cells.values())
    lines = [
        f"Operating-model comparison (the playbook's Table 1), {window}",
        "",
        f"{'measure':<30} " + " ".join(f"{HEADINGS[m]:<{width}}" for m in MODELS),
        f"{'-' * 30} " + " ".join("-" * width for _ in MODELS),
    ]
    for measure in measures:
        label = MEASURES.get(measure, measure)
        lines.append(f"{label:<30} " + " ".join(f"{cells.get((measure, m), '-'):<{width}}" for m in MODELS))
    return "\n".join(lines)
