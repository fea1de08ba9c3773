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
import plotly.io as pio
import plotly.offline

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


# Every figure is built as plain data and handed to plotly.js unvalidated: plotly's figure API validates each property
# it is given, which took most of the report's rendering time (about 0.1 s a figure with subplots).
# The page's look is a few explicit styles, not a template: plotly.js applies no template unless given one, which
# looks as plotly's template "none" did, and the page carries no copy of a template per figure.
PAGE_LAYOUT: dict[str, Any] = {
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "font": {"family": FONT, "size": 12, "color": "#1f2328"},
    "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.04, "x": 0},
}
AXIS_STYLE: dict[str, Any] = {
    "gridcolor": "#e8ecf0",
    "linecolor": "#d0d7de",
    "zerolinecolor": "#d0d7de",
    "automargin": True,
}


def _styled(layout: dict[str, Any], height: int) -> dict[str, Any]:
    """`layout` in the page's look, each of its axes included."""
    axes = {key: {**axis, **AXIS_STYLE} for key, axis in layout.items() if key.startswith(("xaxis", "yaxis"))}
    return {**layout, **PAGE_LAYOUT, "height": height, **axes}


class _Charts:
    """Collects figures as HTML fragments with stable ids, so the same data gives the same file."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, figure: dict[str, Any], name: str, title: str | None = None) -> str:
        """A figure's `data` and styled `layout`, as plain data, as a fragment of the page."""
        self.count += 1
        div = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            config=PLOTLY_CONFIG,
            div_id=f"chart-{self.count}-{name}",
            validate=False,
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

HOUR_AXIS: dict[str, Any] = {"type": "log", "tickvals": list(HOUR_TICKS), "ticktext": list(HOUR_TICKS.values())}


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


def _subplot_grid(
    rows: int,
    cols: int,
    titles: Sequence[str],
    *,
    vertical_spacing: float,
    horizontal_spacing: float = 0.0,
    shared_x: bool = False,
) -> dict[str, Any]:
    """The layout `make_subplots` gives a rows x cols grid of x/y subplots with these titles, as plain data.

    Subplots are numbered row by row from the top left, as `_axes` names them. The arithmetic is plotly's own, so
    the domains are the same to the last digit; a test compares this with `make_subplots` for the report's grids.
    """
    width = (1.0 - horizontal_spacing * (cols - 1)) / cols
    height = (1.0 - vertical_spacing * (rows - 1)) / rows
    layout: dict[str, Any] = {}
    annotations = []
    for i in range(rows * cols):
        row, col = divmod(i, cols)
        up = rows - 1 - row  # plotly.js measures domains from the bottom
        # Sums, not products, as make_subplots adds them up: the same floats.
        x0 = sum([width] * col) + col * horizontal_spacing
        y0 = sum([height] * up) + up * vertical_spacing
        x_domain, y_domain = [x0, x0 + width], [y0, min(y0 + height, 1.0)]
        subplot = i + 1
        layout[_axis_key("x", subplot)] = {"anchor": _axes(subplot)["yaxis"], "domain": x_domain}
        layout[_axis_key("y", subplot)] = {"anchor": _axes(subplot)["xaxis"], "domain": y_domain}
        if shared_x and up > 0:
            # Zooming one row zooms the column; only the bottom row labels the shared axis.
            bottom = _axes((rows - 1) * cols + col + 1)["xaxis"]
            layout[_axis_key("x", subplot)].update(matches=bottom, showticklabels=False)
        if i < len(titles) and titles[i]:
            annotations.append(
                {
                    "font": {"size": 16},
                    "showarrow": False,
                    "text": titles[i],
                    "x": sum(x_domain) / 2.0,
                    "xanchor": "center",
                    "xref": "paper",
                    "y": y_domain[1],
                    "yanchor": "bottom",
                    "yref": "paper",
                }
            )
    layout["annotations"] = annotations
    return layout


def _grid_height(rows: int, row_px: int, gap_px: int) -> tuple[int, float]:
    """A figure's height for `rows` rows of `row_px` pixels each, and the `vertical_spacing` that leaves `gap_px`
    pixels between two rows (for a subplot's title and the tick labels above it).

    plotly measures the spacing as a share of the plotting area: a fixed share of a tall grid (0.09 of 11 rows) gave
    the gaps nine tenths of the height and each subplot about 23 pixels.
    """
    plot_px = rows * row_px + (rows - 1) * gap_px
    margins = PAGE_LAYOUT["margin"]["t"] + PAGE_LAYOUT["margin"]["b"]
    return plot_px + margins, (gap_px / plot_px if rows > 1 else 0.0)


def _axis_key(letter: str, subplot: int) -> str:
    """The layout key of a subplot's x or y axis (xaxis, xaxis2, ...); `_axes` gives what traces refer to it by."""
    return f"{letter}axis{'' if subplot == 1 else subplot}"


def _table_1_chart(table: Table1, charts: _Charts) -> str:
    """Each measure's median per model as a bar, the 85th percentile as a whisker, band and n as labels."""
    measures = [
        m for m in table.measures if any((c := table.cell(m, model)) and c.value is not None for model in table.models)
    ]
    if not measures:
        return ""
    rows, cols = _grid(len(measures))
    titles = [f"{table.measure_label(m)} ({table.unit(m)})" for m in measures]
    height, spacing = _grid_height(rows, row_px=150, gap_px=70)
    layout = _subplot_grid(rows, cols, titles, vertical_spacing=spacing, horizontal_spacing=0.12)
    traces: list[dict[str, Any]] = []
    for i, measure in enumerate(measures):
        subplot = i + 1
        for model in table.models:
            cell = table.cell(measure, model)
            if cell is None:
                continue
            whisker = (cell.p85 - cell.value) if cell.p85 is not None and cell.value is not None else None
            label = f"{format_value(cell.value, cell.unit)}<br>{cell.band or ''} n={cell.n_events}"
            traces.append(
                {
                    "type": "bar",
                    "x": [cell.value],
                    "y": [table.model_label(model)],
                    "orientation": "h",
                    "name": table.model_label(model),
                    "legendgroup": model,
                    "showlegend": i == 0,
                    "marker": {"color": table.colour(model)},
                    "error_x": {"type": "data", "array": [whisker], "arrayminus": [0], "visible": whisker is not None},
                    "text": [label],
                    "textposition": "auto",
                    "textangle": 0,  # never rotated into a thin bar: plotly shrinks it instead
                    "hovertemplate": (
                        f"{table.model_label(model)}<br>median %{{x:.3g}} {cell.unit}<br>"
                        f"p85 {cell.p85 if cell.p85 is not None else '-'}<br>band {cell.band or '-'}<br>"
                        f"n={cell.n_events} events, {cell.n_services} services<extra></extra>"
                    ),
                    **_axes(subplot),
                }
            )
        # The first model on top, as in the table; no tick labels, the legend and the colours name the models.
        layout[_axis_key("y", subplot)].update(showticklabels=False, autorange="reversed")
        if measure == "availability_level":
            # Every availability sits in the high 90s: from zero, the bars would all look full.
            lows = [c.value for m in table.models if (c := table.cell(measure, m)) and c.value is not None]
            if lows:
                layout[_axis_key("x", subplot)]["range"] = [max(0.0, min(lows) - 1.0), 100.0]
    layout.update(barmode="group", bargap=0.25)
    figure = {"data": traces, "layout": _styled(layout, height=height)}
    return charts.html(figure, "table-1", title="Medians (bars) and 85th percentiles (whiskers)")


def _trend_charts(table: Table1, trends: pd.DataFrame, measures: Sequence[str], charts: _Charts) -> str:
    parts = []
    for measure in measures:
        series = trends[trends["measure"] == measure]
        if series.empty:
            continue
        traces: list[dict[str, Any]] = []
        for model in table.models:
            line = series[series["operating_model"] == model]
            if line.empty:
                continue
            traces.append(
                {
                    "type": "scatter",
                    "x": line["week_start"].tolist(),
                    "y": line["value"].tolist(),
                    "customdata": line["n"].tolist(),
                    "mode": "lines+markers",
                    "name": table.model_label(model),
                    "line": {"color": table.colour(model), "width": 2},
                    "marker": {"size": 4},
                    "hovertemplate": "week of %{x|%Y-%m-%d}: %{y:.3g}<br>n=%{customdata}<extra>"
                    + table.model_label(model)
                    + "</extra>",
                }
            )
        unit = table.unit(measure)
        y_axis = {"title": {"text": unit}, **(HOUR_AXIS if unit == "hours" else {})}
        figure = {"data": traces, "layout": _styled({"xaxis": {}, "yaxis": y_axis}, height=320)}
        title = f"{table.measure_label(measure)} per week"
        parts.append(charts.html(figure, f"trend-{measure}", title=title))
    if not parts:
        return '<p class="empty">No weekly data yet.</p>'
    return '<div class="grid">' + "".join(parts) + "</div>"


MIGRATIONS_LABELLED = 12  # migrations whose bars the before/after chart labels; past it, the hover names them


def _migration_bars(table: Table1, migrations: pd.DataFrame, charts: _Charts) -> str:
    """Per measure, each migrated service's value before and after its change, coloured by operating model."""
    measures = list(dict.fromkeys(migrations.sort_values("display_order")["measure"]))
    rows, cols = _grid(len(measures))
    units = dict(zip(migrations["measure"], migrations["unit"], strict=False))
    titles = [f"{table.measure_label(m)} ({units[m]})" for m in measures]
    # Past a dozen migrations the bars' labels (service and date under each, the value above) overlap each other and
    # the next row: they are left to the hover. Otherwise the gap holds the two-line label and the next row's title.
    labelled = len(migrations[["service", "migrated_at"]].drop_duplicates()) <= MIGRATIONS_LABELLED
    height, spacing = _grid_height(rows, row_px=160, gap_px=100 if labelled else 50)
    layout = _subplot_grid(rows, cols, titles, vertical_spacing=spacing, horizontal_spacing=0.1)
    if not labelled:
        for subplot in range(1, len(measures) + 1):
            layout[_axis_key("x", subplot)]["showticklabels"] = False
    traces: list[dict[str, Any]] = []
    for i, measure in enumerate(measures):
        subplot = i + 1
        data = migrations[migrations["measure"] == measure]
        labels = [f"{s}<br>{m:%Y-%m-%d}" for s, m in zip(data["service"], data["migrated_at"], strict=True)]
        for side, model_col, pattern in (("before", "from_operating_model", "/"), ("after", "to_operating_model", "")):
            traces.append(
                {
                    "type": "bar",
                    "x": labels,
                    "y": data[f"value_{side}"].tolist(),
                    "name": side,
                    "legendgroup": side,
                    "text": [
                        format_value(v, units[measure]) if pd.notna(v) and labelled else ""
                        for v in data[f"value_{side}"]
                    ],
                    "textposition": "outside",
                    "cliponaxis": False,
                    "showlegend": i == 0,
                    "marker": {
                        "color": [table.colour(m) for m in data[model_col]],
                        "pattern": {"shape": pattern},
                    },
                    "customdata": list(
                        zip(
                            data[model_col].map(table.model_label),
                            data[f"band_{side}"].fillna("-"),
                            data[f"n_events_{side}"].tolist(),
                            strict=True,
                        )
                    ),
                    "hovertemplate": f"%{{x}}<br>{side}: %{{y:.3g}} {units[measure]}<br>%{{customdata[0]}}<br>"
                    "band %{customdata[1]}, n=%{customdata[2]}<extra></extra>",
                    **_axes(subplot),
                }
            )
    layout["barmode"] = "group"
    figure = {"data": traces, "layout": _styled(layout, height=height)}
    return charts.html(figure, "migrations-before-after", title="Before and after, per measure")


TIMELINE_ROWS = ("Deployments per week", "Median deployment lead time (hours)", "Availability (%)")


def _timeline_layout() -> dict[str, Any]:
    """The layout every migrated service's timeline shares: three rows on one time axis, styled once."""
    layout = _subplot_grid(len(TIMELINE_ROWS), 1, TIMELINE_ROWS, vertical_spacing=0.08, shared_x=True)
    layout[_axis_key("y", 2)].update(HOUR_AXIS)
    return _styled(layout, height=580)


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
        out.append(charts.html(figure, f"migration-{service}", title))
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


def _axes(subplot: int) -> dict[str, str]:
    """How a trace names the axes of the `subplot`th subplot (numbered from 1, row by row from the top left)."""
    suffix = "" if subplot == 1 else str(subplot)
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
