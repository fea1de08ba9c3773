"""`report.html`: the comparison for people who would rather look than read, in one file that opens offline.

Plotly draws the charts; plotly.js is inlined once in the page, so the file needs no CDN and no network. The report
reads only the published marts (the snapshot, or a warehouse's `marts` schema) and writes nothing but its own file.
Its content: Table 1 side by side with figures, bands and sample sizes; weekly trends per operating model for each
measure; before/after charts for services that changed operating model; services sorted by distance from their
availability target.
"""

from __future__ import annotations

import html
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline
from plotly.subplots import make_subplots

from orchestration.serving.comparison import (
    Table1,
    cost_assumption_lines,
    format_value,
    load_cost_assumptions,
    load_table_1,
)
from orchestration.warehouse import connect

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


@dataclass(frozen=True)
class ReportSummary:
    """What `write_report` wrote."""

    path: Path
    charts: int
    size_bytes: int


# Every figure comes from a mart, computed by dbt: the report presents, it never redefines a measure.
WEEKLY_TRENDS_SQL = """
select week_start, operating_model, measure, value, n_events as n
from marts.operating_model_trends
where is_complete_week and value is not null  -- the week holding the as-of date would look like a slump
order by measure, operating_model, week_start
"""

SERVICES_FROM_TARGET_SQL = """
select *
from marts.service_availability_targets
order by distance_from_target_pp asc nulls last, service
"""

MIGRATIONS_SQL = """
select migration_id, service, migrated_at, from_operating_model, to_operating_model, measure, unit,
       value_before, value_after, band_before, band_after, n_events_before, n_events_after,
       before_days, after_days, display_order
from marts.operating_model_migrations
order by migrated_at, service, display_order
"""

MIGRATION_TIMELINE_SQL = """
select d.service, d.week_start, d.operating_model, d.deployments,
       d.median_deployment_lead_time_hours, r.availability_pct, r.availability_target
from marts.deployment_throughput as d
join marts.service_reliability as r using (service, week_start)
where d.service in (select service from marts.operating_model_migrations)
order by d.service, d.week_start
"""


class _Charts:
    """Collects figures as HTML fragments with stable ids, so the same data gives the same file."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, fig: go.Figure, name: str, height: int, title: str | None = None) -> str:
        self.style(fig, height)
        return self.spec_html(fig, name, title)

    @staticmethod
    def style(fig: go.Figure, height: int) -> None:
        """The page's look, set on `fig`."""
        # A few explicit styles instead of a named template: plotly copies and validates a whole template for every
        # figure (about 50 ms each) and inlines it in the page (about 7 kB each).
        fig.update_layout(
            height=height,
            template="none",
            paper_bgcolor="white",
            plot_bgcolor="white",
            font={"family": FONT, "size": 12, "color": "#1f2328"},
            margin={"l": 60, "r": 20, "t": 50, "b": 40},
            legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "x": 0},
        )
        fig.update_xaxes(gridcolor="#e8ecf0", linecolor="#d0d7de", zerolinecolor="#d0d7de", automargin=True)
        fig.update_yaxes(gridcolor="#e8ecf0", linecolor="#d0d7de", zerolinecolor="#d0d7de", automargin=True)

    def spec_html(self, fig: go.Figure | dict[str, Any], name: str, title: str | None = None) -> str:
        """A styled figure, or a figure's dict built from a styled one's (not validated again), as a fragment."""
        self.count += 1
        div = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            config=PLOTLY_CONFIG,
            div_id=f"chart-{self.count}-{name}",
            validate=isinstance(fig, go.Figure),
        )
        # Titles live in the page, not in the figure, where plotly would draw them under the legend.
        caption = f"<figcaption>{html.escape(title)}</figcaption>" if title else ""
        return f'<figure class="chart" data-chart="{html.escape(name)}">{caption}{div}</figure>'


# Hour axes on a log scale, labelled in the units people think in.
HOUR_TICKS = {
    0.25: "15 min",
    0.5: "30 min",
    1: "1 h",
    2: "2 h",
    4: "4 h",
    8: "8 h",
    24: "1 d",
    48: "2 d",
    168: "1 w",
    336: "2 w",
    720: "30 d",
    1440: "60 d",
    2160: "90 d",
    4320: "180 d",
}


def _hour_axis(fig: go.Figure, **where: int) -> None:
    fig.update_yaxes(type="log", tickvals=list(HOUR_TICKS), ticktext=list(HOUR_TICKS.values()), **where)


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table_1_html(table: Table1) -> str:
    if not table.measures:
        return '<p class="empty">operating_model_comparison is empty: no run has produced the comparison yet.</p>'
    head = "".join(
        f'<th colspan="2" class="model" style="border-top-color: {table.colour(m)}">{_esc(table.model_label(m))}</th>'
        for m in table.models
    )
    sub = "".join("<th>our figure</th><th>playbook</th>" for _ in table.models)
    rows = []
    for measure in table.measures:
        cells = [f'<th scope="row">{_esc(table.measure_label(measure))}</th>']
        if reason := table.not_measured_reason(measure):
            span = 2 * len(table.models)
            cells.append(f'<td colspan="{span}" class="not-measured">{_esc(reason)}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
            continue
        for model in table.models:
            cell = table.cell(measure, model)
            if cell is None or cell.value is None:
                figure = '<span class="value">-</span>'
            else:
                figure = f'<span class="value">{_esc(format_value(cell.value, cell.unit))}</span>'
            detail = []
            if cell is not None:
                if cell.band:
                    figure += f' <span class="band">{_esc(cell.band)}</span>'
                if cell.p85 is not None:
                    detail.append(f"p85 {format_value(cell.p85, cell.unit)}")
                detail.append(f"n={cell.n_events} from {cell.n_services} services")
                if cell.dora_band:
                    detail.append(f"DORA {cell.dora_band}")
                if cell.band_confidence == "low":
                    detail.append("low confidence")
            cells.append(f'<td>{figure}<div class="detail">{_esc(", ".join(detail))}</div></td>')
            cells.append(f'<td class="playbook">{_esc(table.playbook.get((measure, model), "-"))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table class="table1"><thead><tr><th rowspan="2">measure</th>'
        + head
        + "</tr><tr>"
        + sub
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _grid(n: int, cols: int = 2) -> tuple[int, int]:
    return (n + cols - 1) // cols, cols


def _table_1_chart(table: Table1, charts: _Charts) -> str:
    """Each measure's median per model as a bar, the 85th percentile as a whisker, band and n as labels."""
    measures = [
        m for m in table.measures if any((c := table.cell(m, model)) and c.value is not None for model in table.models)
    ]
    if not measures:
        return ""
    rows, cols = _grid(len(measures))
    titles = [f"{table.measure_label(m)} ({table.unit(m)})" for m in measures]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.09, horizontal_spacing=0.12)
    for i, measure in enumerate(measures):
        row, col = i // cols + 1, i % cols + 1
        for model in table.models:
            cell = table.cell(measure, model)
            if cell is None:
                continue
            whisker = (cell.p85 - cell.value) if cell.p85 is not None and cell.value is not None else None
            label = f"{format_value(cell.value, cell.unit)}<br>{cell.band or ''} n={cell.n_events}"
            fig.add_trace(
                go.Bar(
                    x=[cell.value],
                    y=[table.model_label(model)],
                    orientation="h",
                    name=table.model_label(model),
                    legendgroup=model,
                    showlegend=i == 0,
                    marker_color=table.colour(model),
                    error_x={"type": "data", "array": [whisker], "arrayminus": [0], "visible": whisker is not None},
                    text=[label],
                    textposition="auto",
                    textangle=0,  # never rotated into a thin bar: plotly shrinks it instead
                    hovertemplate=(
                        f"{table.model_label(model)}<br>median %{{x:.3g}} {cell.unit}<br>"
                        f"p85 {cell.p85 if cell.p85 is not None else '-'}<br>band {cell.band or '-'}<br>"
                        f"n={cell.n_events} events, {cell.n_services} services<extra></extra>"
                    ),
                ),
                row=row,
                col=col,
            )
        # The first model on top, as in the table; no tick labels, the legend and the colours name the models.
        fig.update_yaxes(showticklabels=False, autorange="reversed", row=row, col=col)
        if measure == "availability_level":
            # Every availability sits in the high 90s: from zero, the bars would all look full.
            lows = [c.value for m in table.models if (c := table.cell(measure, m)) and c.value is not None]
            if lows:
                fig.update_xaxes(range=[max(0.0, min(lows) - 1.0), 100.0], row=row, col=col)
    fig.update_layout(barmode="group", bargap=0.25)
    return charts.html(fig, "table-1", height=220 * rows + 80, title="Medians (bars) and 85th percentiles (whiskers)")


def _trend_charts(table: Table1, trends: pd.DataFrame, measures: Sequence[str], charts: _Charts) -> str:
    parts = []
    for measure in measures:
        series = trends[trends["measure"] == measure]
        if series.empty:
            continue
        fig = go.Figure()
        for model in table.models:
            line = series[series["operating_model"] == model]
            if line.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=line["week_start"],
                    y=line["value"],
                    customdata=line["n"],
                    mode="lines+markers",
                    name=table.model_label(model),
                    line={"color": table.colour(model), "width": 2},
                    marker={"size": 4},
                    hovertemplate="week of %{x|%Y-%m-%d}: %{y:.3g}<br>n=%{customdata}<extra>"
                    + table.model_label(model)
                    + "</extra>",
                )
            )
        unit = table.unit(measure)
        fig.update_yaxes(title_text=unit)
        if unit == "hours":
            _hour_axis(fig)
        title = f"{table.measure_label(measure)} per week"
        parts.append(charts.html(fig, f"trend-{measure}", height=320, title=title))
    if not parts:
        return '<p class="empty">No weekly data yet.</p>'
    return '<div class="grid">' + "".join(parts) + "</div>"


def _migration_bars(table: Table1, migrations: pd.DataFrame, charts: _Charts) -> str:
    """Per measure, each migrated service's value before and after its change, coloured by operating model."""
    measures = list(dict.fromkeys(migrations.sort_values("display_order")["measure"]))
    rows, cols = _grid(len(measures))
    units = dict(zip(migrations["measure"], migrations["unit"], strict=False))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"{table.measure_label(m)} ({units[m]})" for m in measures],
        vertical_spacing=0.1,
        horizontal_spacing=0.1,
    )
    for i, measure in enumerate(measures):
        row, col = i // cols + 1, i % cols + 1
        data = migrations[migrations["measure"] == measure]
        labels = [f"{s}<br>{m:%Y-%m-%d}" for s, m in zip(data["service"], data["migrated_at"], strict=True)]
        for side, model_col, pattern in (("before", "from_operating_model", "/"), ("after", "to_operating_model", "")):
            fig.add_trace(
                go.Bar(
                    x=labels,
                    y=data[f"value_{side}"],
                    name=side,
                    legendgroup=side,
                    text=[format_value(v, units[measure]) if pd.notna(v) else "" for v in data[f"value_{side}"]],
                    textposition="outside",
                    cliponaxis=False,
                    showlegend=i == 0,
                    marker={
                        "color": [table.colour(m) for m in data[model_col]],
                        "pattern": {"shape": pattern},
                    },
                    customdata=list(
                        zip(
                            data[model_col].map(table.model_label),
                            data[f"band_{side}"].fillna("-"),
                            data[f"n_events_{side}"],
                            strict=True,
                        )
                    ),
                    hovertemplate=f"{side}: %{{y:.3g}} {units[measure]}<br>%{{customdata[0]}}<br>"
                    "band %{customdata[1]}, n=%{customdata[2]}<extra></extra>",
                ),
                row=row,
                col=col,
            )
    fig.update_layout(barmode="group")
    return charts.html(fig, "migrations-before-after", height=240 * rows + 80, title="Before and after, per measure")


TIMELINE_ROWS = ("Deployments per week", "Median deployment lead time (hours)", "Availability (%)")


def _timeline_layout() -> dict[str, Any]:
    """The layout every migrated service's timeline shares: three rows on one time axis, styled once.

    plotly's figure API validates every property it is given (about 0.2 s a figure with subplots and marked
    moments); a report of a large organisation has a timeline per migrated service, so each is filled in as plain
    data on a copy of this layout instead.
    """
    fig = make_subplots(
        rows=len(TIMELINE_ROWS), cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=TIMELINE_ROWS
    )
    _hour_axis(fig, row=2, col=1)
    _Charts.style(fig, height=580)
    return fig.to_dict()["layout"]


def _migration_timelines(
    table: Table1, migrations: pd.DataFrame, timelines: pd.DataFrame, charts: _Charts
) -> list[str]:
    """Each migrated service's weekly history, with its change(s) of operating model marked."""
    layout = _timeline_layout()
    firsts = migrations.drop_duplicates("migration_id")
    out = []
    for service in dict.fromkeys(firsts["service"]):
        moments = [m.to_pydatetime() for m in firsts[firsts["service"] == service]["migrated_at"]]
        weeks = timelines[timelines["service"] == service]
        figure = {"data": _timeline_traces(table, weeks), "layout": {**layout, "shapes": _moment_lines(moments)}}
        title = f"{service}: weekly history across its change of operating model"
        out.append(charts.spec_html(figure, f"migration-{service}", title))
    return out


def _timeline_traces(table: Table1, weeks: pd.DataFrame) -> list[dict[str, Any]]:
    """Deployments (bars), lead time and availability (markers) per operating model, and the availability target."""
    traces: list[dict[str, Any]] = []
    rows = ("deployments", "median_deployment_lead_time_hours", "availability_pct")
    for model in table.models:
        part = weeks[weeks["operating_model"] == model]
        if part.empty:
            continue
        style = {"name": table.model_label(model), "legendgroup": model, "marker": {"color": table.colour(model)}}
        for row, measure in enumerate(rows, start=1):
            trace = {"type": "bar"} if row == 1 else {"type": "scatter", "mode": "markers", "showlegend": False}
            traces.append({**trace, **style, **_axes(row), "x": list(part["week_start"]), "y": list(part[measure])})
    if not weeks.empty:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "availability target",
                "line": {"color": "#555555", "dash": "dot", "width": 1},
                "x": list(weeks["week_start"]),
                "y": list(weeks["availability_target"]),
                **_axes(3),
            }
        )
    return traces


def _axes(row: int) -> dict[str, str]:
    suffix = "" if row == 1 else str(row)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}


def _moment_lines(moments: Sequence[datetime]) -> list[dict[str, Any]]:
    """A dashed line across each row at each change of operating model (what `add_vline` draws)."""
    return [
        {
            "type": "line",
            "x0": moment,
            "x1": moment,
            "y0": 0,
            "y1": 1,
            "xref": _axes(row)["xaxis"],
            "yref": f"{_axes(row)['yaxis']} domain",
            "line": {"color": "#333333", "dash": "dash", "width": 1},
        }
        for moment in moments
        for row in range(1, len(TIMELINE_ROWS) + 1)
    ]


def _services_table(table: Table1, services: pd.DataFrame) -> str:
    if services.empty:
        return '<p class="empty">No services.</p>'
    head = (
        "<tr><th>service</th><th>team</th><th>operating model now</th><th>target</th><th>availability</th>"
        "<th>distance from target</th><th>downtime / allowed</th><th>error budget used</th>"
        "<th>impacting incidents</th></tr>"
    )
    rows = []
    for r in services.itertuples(index=False):
        measured = pd.notna(r.availability_pct)
        distance = r.distance_from_target_pp
        status = "miss" if measured and distance < 0 else ("meet" if measured else "")

        def minutes(value: float) -> str:
            return f"{value:,.0f} min" if pd.notna(value) else "-"

        rows.append(
            f'<tr class="{status}"><td>{_esc(r.service)}</td><td>{_esc(r.team)}</td>'
            f'<td><span class="dot" style="background:{table.colour(r.current_operating_model)}"></span>'
            f"{_esc(table.model_label(r.current_operating_model))}</td>"
            f"<td>{r.availability_target:.2f}%</td>"
            f"<td>{f'{r.availability_pct:.3f}%' if measured else '-'}</td>"
            f"<td class=num>{f'{distance:+.3f} pp' if measured else '-'}</td>"
            f"<td>{minutes(r.downtime_minutes)} / {minutes(r.allowed_downtime_minutes)}</td>"
            f"<td class=num>{f'{r.error_budget_used_pct:,.0f}%' if pd.notna(r.error_budget_used_pct) else '-'}</td>"
            f"<td class=num>{f'{r.impacting_incidents:.0f}' if measured else '-'}</td></tr>"
        )
    return f'<table class="services"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


STYLE = """
body { font-family: %(font)s; color: #1f2328; margin: 0; background: #f6f8fa; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { margin-bottom: 4px; } h2 { margin-top: 40px; border-bottom: 1px solid #d0d7de; padding-bottom: 6px; }
.lede { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; width: 100%%; font-size: 14px; }
th, td { border-bottom: 1px solid #d0d7de; padding: 6px 8px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; }
.table1 .value { font-size: 16px; font-weight: 600; }
.table1 .band { display: inline-block; padding: 1px 6px; border-radius: 10px; background: #ddf4ff; font-size: 12px; }
.table1 .detail { color: #57606a; font-size: 12px; }
.table1 .playbook { color: #57606a; font-style: italic; }
th.model { border-top: 4px solid #d0d7de; }
.services td.num { text-align: right; font-variant-numeric: tabular-nums; }
.costs td { text-align: right; font-variant-numeric: tabular-nums; }
.costs .detail, .assumptions { color: #57606a; font-size: 12px; }
.services tr.miss td:nth-child(6) { color: #cf222e; font-weight: 600; }
.services tr.meet td:nth-child(6) { color: #1a7f37; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 6px; }
/* auto-fill, not auto-fit: the columns have their final width before the first chart is drawn into them */
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 8px 24px; }
figure.chart { margin: 0; min-width: 0; }
.empty, .not-measured { color: #57606a; font-style: italic; }
footer { margin-top: 48px; color: #57606a; font-size: 12px; }
figcaption { font-weight: 600; margin: 16px 0 0; }
.services td { white-space: nowrap; }
""" % {"font": FONT}  # noqa: UP031 (the CSS is full of braces)


COSTS_SQL = """
select measure, component, cost_kind, operating_model, cost_per_service_year, currency, n_services, n_unpriced
from marts.operating_model_costs
order by measure, cost_kind, component, operating_model
"""


def _costs_html(table: Table1, costs: pd.DataFrame, assumptions: list[tuple]) -> list[str]:
    """What each model costs per dimension and component, with every assumption behind the figures."""
    if costs.empty:
        return []
    models = [m for m in table.models if m in set(costs["operating_model"])]
    head = "".join(f"<th>{_esc(table.model_label(m))}</th>" for m in models)
    rows = []
    order = {m: i for i, m in enumerate(table.measures)}
    groups = costs.groupby(["measure", "component", "cost_kind"], sort=False)
    for (measure, component, kind), group in sorted(groups, key=lambda g: (order.get(g[0][0], 0), g[0][2], g[0][1])):
        by_model = dict(zip(group["operating_model"], group["cost_per_service_year"], strict=True))
        cells = "".join(f"<td>{_esc('-' if pd.isna(by_model.get(m)) else f'{by_model[m]:,.0f}')}</td>" for m in models)
        rows.append(
            f'<tr><th scope="row">{_esc(table.measure_label(measure))}: {_esc(component.replace("_", " "))}'
            f' <span class="detail">({_esc(kind)})</span></th>{cells}</tr>'
        )
    currency = costs["currency"].iloc[0]
    listed = "".join(f"<li>{_esc(line)}</li>" for line in cost_assumption_lines(assumptions))
    return [
        "<h2>What each model costs</h2>",
        f'<p class="lede">{_esc(currency)} per service per year over the comparison window, by component: '
        "opportunity costs (what delay and downtime lose) and run costs (people's time, on-call allowances). "
        "Every figure rests on the assumptions listed below it.</p>",
        f'<table class="costs"><thead><tr><th>component</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>',
        f'<h3>Assumptions</h3><ul class="assumptions">{listed}</ul>',
    ]


def render_report(con: duckdb.DuckDBPyConnection) -> tuple[str, int]:
    """The whole report page for the marts `con` can read, and how many charts it holds."""
    table = load_table_1(con)
    trends = con.execute(WEEKLY_TRENDS_SQL).df()
    services = con.execute(SERVICES_FROM_TARGET_SQL).df()
    migrations = con.execute(MIGRATIONS_SQL).df()
    timelines = con.execute(MIGRATION_TIMELINE_SQL).df()
    costs = con.execute(COSTS_SQL).df()
    charts = _Charts()

    measures = list(table.measures) or sorted(set(trends["measure"]))
    window = f"{table.window_start} to {table.window_end}" if table.window_start else "-"
    body = [
        "<h1>Operating models compared</h1>",
        f'<p class="lede">{_esc(" against ".join(table.model_label(m) for m in table.models) or "-")}, from this '
        "organisation's own data. "
        f"Window {_esc(window)}, as of {_esc(table.as_of or '-')}.</p>",
        "<h2>Table 1, side by side</h2>",
        '<p class="lede">Rates (deployment frequency, availability, change failure rate) are the median of the '
        "services' own figures; durations are the pooled median of every event. p85 is the 85th percentile; n counts "
        "the events behind each figure. The playbook's expectation is in italics.</p>",
        _table_1_html(table),
        _table_1_chart(table, charts),
        *_costs_html(table, costs, load_cost_assumptions(con)),
        "<h2>Weekly trends per operating model</h2>",
        '<p class="lede">Complete weeks only, in the configured time zone, by the rules of Table 1: rates are the '
        "median of the services' figures that week, durations the median of the week's events (log scale). "
        "Hover for n.</p>",
        _trend_charts(table, trends, measures, charts),
        "<h2>Services that changed operating model</h2>",
    ]
    if migrations.empty:
        body.append('<p class="empty">No service changed operating model.</p>')
    else:
        body.append(
            '<p class="lede">Each service\'s own figures over the period before its change (hatched) and after it, '
            "coloured by the operating model in effect.</p>"
        )
        body.append(_migration_bars(table, migrations, charts))
        body += _migration_timelines(table, migrations, timelines, charts)
    body += [
        "<h2>Services by distance from their availability target</h2>",
        '<p class="lede">Availability over the comparison window; furthest below target first. Error budget used: '
        "downtime as a share of what the target allows.</p>",
        _services_table(table, services),
        "<footer>Generated by opmetrics from the published marts snapshot. Definitions: docs/bi.md.</footer>",
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="opmetrics-charts" content="{charts.count}">'
        f"<title>opmetrics: operating models compared, as of {_esc(table.as_of or '-')}</title>"
        f"<style>{STYLE}</style>"
        # plotly.js inlined once: the page works from a file, offline, with no CDN.
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>'
        "</head><body><main>" + "\n".join(body) + "</main>"
        # Charts are drawn as the page parses; once its layout is final, fit each to its box.
        "<script>window.addEventListener('load', function () {"
        " document.querySelectorAll('.plotly-graph-div').forEach(function (d) { Plotly.Plots.resize(d); }); });"
        "</script></body></html>\n"
    )
    return page, charts.count


def write_report(source: Path, output: Path) -> ReportSummary:
    """Render the report from `source` (the snapshot, or any DuckDB file with the marts) into `output`.

    `source` is opened read-only; `output` is written to a temporary file and renamed, so a browser refreshing the
    page never reads half of it.
    """
    with connect(source, read_only=True) as con:
        page, count = render_report(con)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return ReportSummary(output, count, output.stat().st_size)
