"""Text rendering of the marts for the terminal: the playbook's Table 1 with our figures, then the migrations."""

from __future__ import annotations

from pathlib import Path

from orchestration.serving.comparison import (
    Table1,
    cell_summary,
    cost_assumption_lines,
    format_value,
    load_cost_assumptions,
    load_table_1,
)
from orchestration.warehouse import connect


def comparison_table(warehouse: Path) -> str:
    """Table 1, then each migrated service's measures before and after its change of operating model."""
    with connect(warehouse, read_only=True) as con:
        table = load_table_1(con)
        by_source = con.execute(
            """select source, count(*) filter (where counts_as_deployment),
                      count(distinct service) filter (where counts_as_deployment)
               from marts.fct_deployments group by source order by source"""
        ).fetchall()
        assumptions = cost_assumption_lines(load_cost_assumptions(con))
        migrations = con.execute(
            """select service, migrated_at::date, from_operating_model, to_operating_model, measure, unit,
                      value_before, value_after, band_before, band_after, n_events_before, n_events_after,
                      before_days
               from marts.operating_model_migrations
               order by migrated_at, service, display_order"""
        ).fetchall()
    if not table.measures:
        return "operating_model_comparison is empty"
    lines = [f"Operating-model comparison (the playbook's Table 1), {table.window_start} to {table.window_end}", ""]
    width = max(len(table.model_label(m)) for m in table.models)
    for measure in table.measures:
        lines.append(table.measure_label(measure))
        # a row of the playbook's Table 1 the data cannot measure yet: printed with the reason (the measures seed's)
        if reason := table.not_measured_reason(measure):
            lines.append(f"  {reason}")
            continue
        for model in table.models:
            expected = table.playbook.get((measure, model))
            playbook = f"   [playbook: {expected}]" if expected else ""
            lines.append(f"  {table.model_label(model):<{width}}  {cell_summary(table.cell(measure, model))}{playbook}")
    if assumptions:
        lines += ["", "Cost assumptions (marts.cost_assumptions: the catalog's `costs`, the seeds and vars):"]
        lines += [f"  {line}" for line in assumptions]
    counted = ", ".join(f"{source} {n:,} ({services} services)" for source, n, services in by_source if n)
    lines += ["", f"Deployments counted, by source: {counted or 'none'}"]
    lines += ["", *_migrations(table, migrations)]
    return "\n".join(lines)


def _migrations(table: Table1, rows: list[tuple]) -> list[str]:
    if not rows:
        return ["No service changed operating model."]
    lines = ["Migrations: each measure over the days before and after the change"]
    width = max(30, *(len(table.measure_label(row[4])) for row in rows))
    current = None
    for service, day, old, new, measure, unit, before, after, band_before, band_after, n_before, n_after, days in rows:
        if (service, day) != current:
            current = (service, day)
            change = f"{table.model_label(old)} -> {table.model_label(new)}"
            lines.append(f"  {service}: {change} on {day} ({days:.0f} days each side)")
        shift = f"{format_value(before, unit)} ({band_before or '-'}, n={n_before})"
        shift += f"  ->  {format_value(after, unit)} ({band_after or '-'}, n={n_after})"
        lines.append(f"    {table.measure_label(measure):<{width}} {shift}")
    return lines
