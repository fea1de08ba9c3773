"""report.html's content, without a browser: what it shows, in which order, and that it copes with empty marts."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from plotly.subplots import make_subplots

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
        (11, 2, 21, 0.09, 0.12, False),  # Table 1's chart: an odd number of measures leaves the last cell empty
        (10, 2, 20, 0.1, 0.1, False),  # before/after per measure
        (1, 2, 1, 0.1, 0.1, False),
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
