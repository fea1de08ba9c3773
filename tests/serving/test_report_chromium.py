"""report.html in headless Chromium: every chart renders, the console stays clean, and no request leaves the page.

Chromium is Debian's package (`.ci/install-chromium`). Without it the test is skipped on a developer's machine and
fails in CI (CI is set), so a green CI always means the report was really opened in a browser.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from orchestration.serving.publish import PublishedSnapshot
from orchestration.serving.report_html import write_report
from tests.serving.chromium import CHROMIUM, Chromium
from tests.serving.conftest import require

CHART_STATE = """(() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return {
    declared: Number(document.querySelector('meta[name="opmetrics-charts"]').content),
    divs: divs.length,
    rendered: divs.filter(d => d._fullLayout && d.querySelector('svg.main-svg')
                               && (d.data || []).length > 0).length,
    // drawn marks: a bar or marker (.point) or a line (.js-line) inside a trace
    empty: divs.filter(d => !d.querySelector('.trace .point, .trace .js-line')).map(d => d.id),
    plotly: typeof Plotly === 'object' ? Plotly.version : null,
  };
})()"""


@pytest.fixture
def report(published: PublishedSnapshot) -> tuple[Path, int]:
    summary = write_report(published.snapshot, published.snapshot.parent / "report.html")
    return summary.path, summary.charts


def test_report_is_one_self_contained_file(report: tuple[Path, int]) -> None:
    page = report[0].read_text()
    # Nothing is fetched: no external script, stylesheet, image or font (links in plotly.js's own code are inert).
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']?(https?:)?//", page)
    assert "@import" not in page and "url(http" not in page
    assert page.count("<script") >= 1 + report[1], "plotly.js once, then one script per chart"


def test_report_renders_in_headless_chromium_without_errors_or_requests(report: tuple[Path, int]) -> None:
    require(CHROMIUM, "bash .ci/install-chromium (Debian's chromium package)")
    path, charts = report
    url = path.resolve().as_uri()
    with Chromium(timeout=45) as browser:
        browser.open(url)
        deadline = time.monotonic() + 20
        while (state := browser.evaluate(CHART_STATE))["rendered"] < charts and time.monotonic() < deadline:
            time.sleep(0.2)
        log = browser.page_log()

    assert state["plotly"], "plotly.js did not load from the page itself"
    assert state["declared"] == state["divs"] == charts, state
    assert state["rendered"] == charts, f"charts not rendered: {state}"
    assert state["empty"] == [], f"charts drawn without any trace: {state['empty']}"
    assert log.exceptions == [], log.exceptions
    assert log.console_errors == [], log.console_errors
    assert log.log_errors == [], log.log_errors
    # The only request the page makes is for itself: no CDN, no font, no telemetry, nothing left the page.
    assert [u for u in log.requests if u != url and not u.startswith(("data:", "blob:"))] == []
    assert log.failed_requests == []
