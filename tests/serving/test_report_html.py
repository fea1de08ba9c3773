"""report.html's content, without a browser: what it shows, in which order, and that it copes with empty marts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from orchestration.serving import report_html
from orchestration.serving.publish import PublishedSnapshot
from orchestration.serving.report_html import (
    PAGE_LAYOUT,
    SERVICES_FROM_TARGET_SQL,
    _grid_height,
    _subplot_grid,
    render_report,
    write_report,
)
from tests.serving.fixtures import create_mart_tables


def _render(path: Path) -> tuple[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return render_report(con)
    finally:
        con.close()


def test_report_shows_table_1_trends_migrations_and_services(published: PublishedSnapshot) -> None:
    page, charts = _render(published.snapshot)
    # Table 1 chart, one weekly trend per measure, the before/after chart and one history per migrated service.
    assert charts == 1 + 7 + 1 + 1
    assert page.count('class="plotly-graph-div"') == charts
    for text in ("Table 1, side by side", "Deployment frequency", "6.50 / week", "Daily+", "n=21 from 2 services",
                 "Daily+ to weekly", "Weekly trends per operating model", "invoicing: weekly history",
                 "Services by distance from their availability target"):  # fmt: skip
        assert text in page, text
    assert page == _render(published.snapshot)[0], "the same marts must give the same page"


def _figures(page: str) -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Each chart's data and layout as the page hands them to plotly.js, by the chart's name."""
    figures = {}
    decoder = json.JSONDecoder()
    for match in re.finditer(r'Plotly\.newPlot\(\s*"chart-\d+-([\w-]+)",\s*', page):
        data, end = decoder.raw_decode(page, match.end())
        layout, _ = decoder.raw_decode(page, page.index("{", end))
        figures[match[1]] = (data, layout)
    return figures


def test_every_chart_is_a_valid_plotly_figure(published: PublishedSnapshot) -> None:
    # The report hands plotly.js plain data, unvalidated (it is faster); a misspelt property would be ignored
    # silently there, so plotly's own validation runs here instead.
    page, charts = _render(published.snapshot)
    figures = _figures(page)
    assert len(figures) == charts
    for name, (data, layout) in figures.items():
        go.Figure(data=data, layout=layout)  # raises on any property plotly does not know
        assert data, name


@pytest.mark.parametrize(("chart", "row_px"), [("table-1", 150), ("migrations-before-after", 160)])
def test_grids_of_charts_give_each_row_its_pixels(published: PublishedSnapshot, chart: str, row_px: int) -> None:
    _, layout = _figures(_render(published.snapshot)[0])[chart]
    plot_px = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    low, high = layout["yaxis"]["domain"]
    assert round((high - low) * plot_px) == row_px


def test_services_are_sorted_furthest_below_target_first(published: PublishedSnapshot) -> None:
    con = duckdb.connect(str(published.snapshot), read_only=True)
    rows = con.execute(f"select service, distance_from_target_pp from ({SERVICES_FROM_TARGET_SQL})").fetchall()
    con.close()
    distances = [r[1] for r in rows]
    assert distances == sorted(distances) and len(set(distances)) > 1
    page, _ = _render(published.snapshot)
    table = page[page.index('<table class="services">') :]
    order = re.findall(r"<tr class=\"\w*\"><td>([\w-]+)</td>", table)
    assert order == [r[0] for r in rows]


def test_empty_marts_give_a_page_that_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(empty))
    create_mart_tables(con)
    con.close()
    summary = write_report(empty, tmp_path / "report.html")
    page = summary.path.read_text()
    assert summary.charts == 0
    assert "operating_model_comparison is empty" in page and "No service changed operating model" in page
    assert list(tmp_path.glob(".report.html.*")) == []


@pytest.mark.parametrize(
    ("rows", "cols", "n_titles", "vertical", "horizontal", "shared_x"),
    [
        (11, 2, 21, 0.03, 0.12, False),  # a tall grid whose last cell is empty, as Table 1's chart
        (10, 2, 20, 0.04, 0.1, False),
        (1, 2, 1, 0.0, 0.1, False),
        (3, 1, 3, 0.08, 0.0, True),  # a migrated service's timeline: three rows on one time axis
    ],
)
def test_subplot_grid_is_what_make_subplots_lays_out(
    rows: int, cols: int, n_titles: int, vertical: float, horizontal: float, shared_x: bool
) -> None:
    # The report writes the grid as plain data to skip plotly's validation; it must stay what plotly would draw,
    # domains to the last digit, whichever plotly version is installed.
    titles = [f"measure {i}" for i in range(n_titles)]
    expected = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles,
        vertical_spacing=vertical,
        horizontal_spacing=horizontal,
        shared_xaxes=shared_x,
    ).to_dict()["layout"]
    expected.pop("template")  # plotly's default template: the report sets its own look
    grid = _subplot_grid(
        rows, cols, titles, vertical_spacing=vertical, horizontal_spacing=horizontal, shared_x=shared_x
    )
    assert grid == expected


@pytest.mark.parametrize("rows", [1, 2, 11])
def test_every_row_of_a_tall_grid_keeps_its_pixels(rows: int) -> None:
    # A spacing given as a share of the figure took nine tenths of an 11-row chart, leaving each subplot ~23 px.
    height, spacing = _grid_height(rows, row_px=150, gap_px=70)
    plot_px = height - PAGE_LAYOUT["margin"]["t"] - PAGE_LAYOUT["margin"]["b"]
    grid = _subplot_grid(rows, 2, [], vertical_spacing=spacing)
    for key in ("yaxis", "yaxis3", "yaxis21")[: min(rows, 3)]:
        low, high = grid[key]["domain"]
        assert round((high - low) * plot_px) == 150, key
    if rows > 1:
        assert round((grid["yaxis"]["domain"][0] - grid["yaxis3"]["domain"][1]) * plot_px) == 70


@pytest.mark.parametrize("labelled_up_to", [12, 0])
def test_before_after_bars_are_labelled_only_while_they_fit(
    published: PublishedSnapshot, monkeypatch: pytest.MonkeyPatch, labelled_up_to: int
) -> None:
    # The fixture has one migration; at 0 it stands for an organisation with more than the chart can label.
    monkeypatch.setattr(report_html, "MIGRATIONS_LABELLED", labelled_up_to)
    data, layout = _figures(_render(published.snapshot)[0])["migrations-before-after"]
    labelled = labelled_up_to > 0
    assert any(text for trace in data for text in trace["text"]) is labelled
    assert layout["xaxis"].get("showticklabels", True) is labelled
    assert all(trace["hovertemplate"].startswith("%{x}<br>") for trace in data), "the hover names the service"
