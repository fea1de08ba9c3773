"""report.html's content, without a browser: what it shows, in which order, and that it copes with empty marts."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from orchestration.serving.publish import PublishedSnapshot
from orchestration.serving.report_html import SERVICES_FROM_TARGET_SQL, render_report, write_report
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
