"""The scale benchmark's one table, built from its JSON result (pure: the smoke test builds it from canned data).

One column per size measured, one row per figure, with the goal beside it; `docs/performance.md` explains
each row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.history_diff import summary_line

GOALS = {
    "full_run_s": 300.0,
    "incremental_run_s": 30.0,
    "peak_rss_mib": 1024.0,
    "rss_growth": 1.25,
    "dlt_ratio": 1.5,
    "checks_share": 0.15,
}
KINDS = ("opmetrics", "reader", "dbt", "other")

Row = tuple[str, str, list[str]]


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _mark(value: float | None, goal: float, at_most: bool = True) -> str:
    """The value's verdict against its goal: `ok` or `MISS` (nothing when there is no value)."""
    if value is None:
        return ""
    return " ok" if (value <= goal if at_most else value >= goal) else " MISS"


def github_comparison(size: dict[str, Any]) -> dict[str, Any] | None:
    """opmetrics' GitHub ingest against dlt's on the same endpoints, or None without a dlt run.

    opmetrics' time is its GitHub sync step without the raw checks that follow the sync in the same step (dlt
    runs none); dlt's is extract + normalize + load. Both exclude their interpreter's start-up and imports.
    """
    dlt = size.get("dlt")
    github = (size.get("full") or {}).get("summary", {}).get("sources", {}).get("github")
    if not dlt or not github or dlt.get("error"):
        return None
    ours_s = github["sync_s"] - github["raw_checks_s"]
    dlt_s = dlt["seconds"]["total"]
    ours_rate = github["records_merged"] / ours_s if ours_s > 0 else None
    dlt_records = sum(dlt["rows"].values())
    dlt_rate = dlt_records / dlt_s if dlt_s > 0 else None
    return {
        "opmetrics_records": github["records_merged"],
        "opmetrics_s": round(ours_s, 3),
        "opmetrics_requests": github["requests"],
        "opmetrics_records_per_s": round(ours_rate, 1) if ours_rate else None,
        "dlt_records": dlt_records,
        "dlt_s": dlt_s,
        "dlt_requests": dlt["requests"],
        "dlt_records_per_s": round(dlt_rate, 1) if dlt_rate else None,
        "ratio": round(ours_rate / dlt_rate, 3) if ours_rate and dlt_rate else None,
    }


def _rows(sizes: list[dict[str, Any]]) -> list[Row]:
    def col(fn: Callable[[dict[str, Any]], str]) -> list[str]:
        out = []
        for s in sizes:
            try:
                out.append(fn(s))
            except (KeyError, TypeError, ZeroDivisionError):
                out.append("-")
        return out

    def full(s: dict[str, Any]) -> dict[str, Any]:
        return s["full"]

    def summary(s: dict[str, Any]) -> dict[str, Any]:
        return s["full"]["summary"]

    goal_rss = GOALS["peak_rss_mib"]
    rows: list[Row] = [
        ("services x days", "", col(lambda s: f"{s['services']:,} x {s['days']:,}")),
        ("raw records (after the full run)", "", col(lambda s: _num(summary(s)["raw_rows"]))),
        (
            "full run s",
            f"<= {GOALS['full_run_s']:.0f}",
            col(
                lambda s: (
                    _num(full(s)["seconds"], 1) + _status(full(s)) + _mark(full(s)["seconds"], GOALS["full_run_s"])
                )
            ),
        ),
        (
            "incremental run s, same history again",
            f"<= {GOALS['incremental_run_s']:.0f}",
            col(
                lambda s: (
                    _num(s["incremental_same"]["seconds"], 1)
                    + _status(s["incremental_same"])
                    + _mark(s["incremental_same"]["seconds"], GOALS["incremental_run_s"])
                )
            ),
        ),
        (
            "incremental run s, one more day (regenerated history)",
            f"<= {GOALS['incremental_run_s']:.0f}",
            col(
                lambda s: (
                    _num(s["incremental"]["seconds"], 1)
                    + _status(s["incremental"])
                    + _mark(s["incremental"]["seconds"], GOALS["incremental_run_s"])
                )
            ),
        ),
    ]
    for kind in KINDS:
        rows.append(
            (
                f"peak RSS MiB, full run: {kind}",
                f"<= {goal_rss:.0f}",
                col(
                    lambda s, k=kind: (
                        _num(full(s)["usage"]["peak_rss_mib"].get(k))
                        + _mark(full(s)["usage"]["peak_rss_mib"].get(k), goal_rss)
                    )
                ),
            )
        )
    rows += [
        (
            "peak RSS MiB, full run: largest process (kernel)",
            f"<= {goal_rss:.0f}",
            col(
                lambda s: (
                    _num(full(s)["usage"]["kernel_max_rss_mib"])
                    + _mark(full(s)["usage"]["kernel_max_rss_mib"], goal_rss)
                )
            ),
        ),
        ("peak RSS MiB, full run: whole tree (sum)", "", col(lambda s: _num(full(s)["usage"]["peak_tree_rss_mib"]))),
        (
            "peak RSS MiB, incremental run: largest process",
            f"<= {goal_rss:.0f}",
            col(
                lambda s: (
                    _num(s["incremental"]["usage"]["kernel_max_rss_mib"])
                    + _mark(s["incremental"]["usage"]["kernel_max_rss_mib"], goal_rss)
                )
            ),
        ),
    ]
    sources = sorted({name for s in sizes for name in (s.get("full") or {}).get("summary", {}).get("sources", {})})
    for name in sources:
        rows.append(
            (
                f"requests, full run: {name}",
                "",
                col(lambda s, n=name: _num(summary(s)["sources"][n]["requests"])),
            )
        )
    rows += [
        (
            "GitHub requests / record, full run",
            "",
            col(
                lambda s: _num(
                    summary(s)["sources"]["github"]["requests"] / summary(s)["sources"]["github"]["records_merged"], 3
                )
            ),
        ),
        (
            "requests, incremental runs: all sources (same / one more day)",
            "",
            col(lambda s: f"{_requests(s, 'incremental_same')} / {_requests(s, 'incremental')}"),
        ),
        ("ingest records/s, all raw sync steps", "", col(lambda s: _num(summary(s)["ingest_records_per_s"]))),
        (
            "GitHub records/s: opmetrics (sync, raw checks excluded)",
            "",
            col(lambda s: _num(github_comparison(s)["opmetrics_records_per_s"])),
        ),
        (
            "GitHub records/s: dlt rest_api, same endpoints",
            "",
            col(lambda s: _num(github_comparison(s)["dlt_records_per_s"])),
        ),
        ("dlt rest_api peak RSS MiB (its own process)", "", col(lambda s: _num(s["dlt"]["peak_rss_mib"]))),
        (
            "opmetrics / dlt records/s",
            f">= {GOALS['dlt_ratio']}",
            col(
                lambda s: (
                    _num(github_comparison(s)["ratio"], 2)
                    + _mark(github_comparison(s)["ratio"], GOALS["dlt_ratio"], at_most=False)
                )
            ),
        ),
        (
            "checks' share of the full run",
            f"<= {100 * GOALS['checks_share']:.0f}%",
            col(lambda s: _share(checks_share(s))),
        ),
        (
            "  checks s: raw / dbt tests / GX / other",
            "",
            col(
                lambda s: " / ".join(
                    _num(summary(s)["checks"][k], 1) for k in ("raw_checks_s", "dbt_tests_s", "gx_s", "other_checks_s")
                )
            ),
        ),
        (
            "steps s: raw syncs / dbt / check steps / serving",
            "",
            col(
                lambda s: " / ".join(
                    _num(summary(s)["buckets_s"].get(k), 1) for k in ("raw_sync", "dbt", "check_step", "serving")
                )
            ),
        ),
        (
            "  outside the steps s (start-up, plan, summary)",
            "",
            col(lambda s: _num(full(s)["seconds"] - sum(summary(s)["buckets_s"].values()), 1)),
        ),
        (
            "sample server: CPU s in the full run / RSS MiB",
            "",
            col(lambda s: f"{_num(full(s)['server_cpu_s'], 1)} / {_num(s['server']['rss_mib'])}"),
        ),
        ("sample server: generation + start s", "", col(lambda s: _num(s["server"]["start_s"], 1))),
        (
            "other processes' load in the full run, cores",
            "",
            col(lambda s: _num(full(s)["usage"]["other_load_cores"], 2)),
        ),
    ]
    return rows


def checks_share(size: dict[str, Any]) -> float | None:
    """The checks' time over the full run's wall time, from the run's step timings; None when not measured."""
    try:
        return size["full"]["summary"]["checks"]["total_s"] / size["full"]["seconds"]
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def _share(share: float | None) -> str:
    if share is None:
        return "not measured"
    return f"{100 * share:.0f}%" + _mark(share, GOALS["checks_share"])


def _requests(size: dict[str, Any], run: str) -> str:
    """Requests to every source in one run of a size, or `-`."""
    try:
        return _num(sum(v["requests"] for v in size[run]["summary"]["sources"].values()))
    except (KeyError, TypeError):
        return "-"


def _status(run: dict[str, Any]) -> str:
    if run.get("usage", {}).get("timed_out"):
        return " (TIMED OUT)"
    return "" if run.get("ok") else " (FAILED)"


def rss_growth(sizes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Largest single-process peak RSS of the longest history over that of the shortest (same services)."""
    done = [s for s in sizes if s.get("full") and not s["full"]["usage"].get("timed_out")]
    if len(done) < 2:
        return None
    short, long = min(done, key=lambda s: s["days"]), max(done, key=lambda s: s["days"])
    a, b = short["full"]["usage"]["kernel_max_rss_mib"], long["full"]["usage"]["kernel_max_rss_mib"]
    return {
        "days": [short["days"], long["days"]],
        "history_multiple": round(long["days"] / short["days"], 2),
        "peak_rss_mib": [round(a, 1), round(b, 1)],
        "ratio": round(b / a, 3) if a else None,
    }


def incremental_growth(sizes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The incremental run after one more day at the longest history over the same at the shortest: what of it
    grows with the history (the goal: with the new data only), with the dbt step's share."""
    done = [s for s in sizes if (s.get("incremental") or {}).get("ok")]
    if len(done) < 2:
        return None
    short, long = min(done, key=lambda s: s["days"]), max(done, key=lambda s: s["days"])
    a, b = short["incremental"]["seconds"], long["incremental"]["seconds"]
    return {
        "days": [short["days"], long["days"]],
        "seconds": [a, b],
        "dbt_step_s": [s["incremental"].get("summary", {}).get("buckets_s", {}).get("dbt") for s in (short, long)],
        "ratio": round(b / a, 3) if a else None,
    }


RUNS = ("full", "incremental_same", "incremental")
NOT_MEASURED = "not measured"


def _verdict(value: float | None, goal: float, at_most: bool = True, failed: bool = False) -> str:
    """PASS or FAIL against the goal; a run that failed or timed out never passes (its figures are partial)."""
    if value is None:
        return NOT_MEASURED
    met = value <= goal if at_most else value >= goal
    return "PASS" if met and not failed else "FAIL"


def _largest_process(size: dict[str, Any]) -> float | None:
    """The largest peak RSS of any single process over a size's opmetrics runs (kernel and sampled figures)."""
    peaks = []
    for run in RUNS:
        usage = (size.get(run) or {}).get("usage") or {}
        peaks += [usage.get("kernel_max_rss_mib") or 0.0, *(usage.get("peak_rss_mib") or {}).values()]
    return max(peaks) if any(peaks) else None


def _shown(value: float | None, unit: str, digits: int = 0) -> str:
    return "-" if value is None else _num(value, digits) + unit


def goal_verdicts(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(goal, measured, PASS / FAIL / not measured) for each goal of issue 13, worst case over the sizes.

    Only what the benchmark measured is judged: a goal without a figure says "not measured", never a guess.
    """
    sizes = result["sizes"]
    out: list[tuple[str, str, str]] = []

    def runs(key: str) -> list[dict[str, Any]]:
        return [s[key] for s in sizes if s.get(key)]

    full = runs("full")
    worst = max((r["seconds"] for r in full), default=None)
    failed = any(not r.get("ok") for r in full)
    out.append(("full run <= 5 min", _shown(worst, " s", 1), _verdict(worst, GOALS["full_run_s"], failed=failed)))
    incremental = runs("incremental")
    worst = max((r["seconds"] for r in incremental), default=None)
    failed = any(not r.get("ok") for r in incremental)
    verdict = _verdict(worst, GOALS["incremental_run_s"], failed=failed)
    out.append(("incremental run (one more day) <= 30 s", _shown(worst, " s", 1), verdict))
    worst = max((p for p in map(_largest_process, sizes) if p is not None), default=None)
    out.append(("every process <= 1 GiB", _shown(worst, " MiB"), _verdict(worst, GOALS["peak_rss_mib"])))
    growth = result.get("rss_growth")
    ratio = growth["ratio"] if growth else None
    shown = f"{ratio:.2f}x at {growth['history_multiple']}x the days" if growth and ratio else "-"
    out.append(("peak RSS at 4x history <= 1.25x", shown, _verdict(ratio, GOALS["rss_growth"])))
    worst = min((c["ratio"] for c in map(github_comparison, sizes) if c and c.get("ratio")), default=None)
    verdict = _verdict(worst, GOALS["dlt_ratio"], at_most=False)
    out.append(("ingest >= 1.5x dlt records/s", _shown(worst, "x", 2), verdict))
    worst = max((x for x in map(checks_share, sizes) if x is not None), default=None)
    shown = _shown(100 * worst if worst is not None else None, "%")
    out.append(("checks <= 15% of the full run", shown, _verdict(worst, GOALS["checks_share"])))
    return out


def format_table(result: dict[str, Any]) -> str:
    """The benchmark's table, then the peak-RSS growth and the history comparison, as text."""
    sizes = result["sizes"]
    rows = _rows(sizes)
    headers = ("", "goal", *(f"{s['services']} x {s['days']} d" for s in sizes))
    widths = [max(len(headers[0]), *(len(r[0]) for r in rows)), max(len(headers[1]), *(len(r[1]) for r in rows))]
    widths += [max(len(headers[i + 2]), *(len(r[2][i]) for r in rows)) for i in range(len(sizes))]

    def line(cells: list[str]) -> str:
        first = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        return " | ".join(first + [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)])

    out = [line(list(headers)), "-+-".join("-" * w for w in widths)]
    out += [line([name, goal, *cells]) for name, goal, cells in rows]
    growth = result.get("rss_growth")
    if growth:
        out.append(
            f"peak RSS (largest process) at {growth['history_multiple']}x the history ({growth['days'][1]} vs "
            f"{growth['days'][0]} days): {growth['peak_rss_mib'][1]:.0f} / {growth['peak_rss_mib'][0]:.0f} MiB = "
            f"{growth['ratio']:.2f}x (goal <= {GOALS['rss_growth']}x{_mark(growth['ratio'], GOALS['rss_growth'])})"
        )
    grown = incremental_growth(sizes)
    if grown and grown["ratio"] is not None:
        dbt = grown["dbt_step_s"]
        dbt_part = f" (dbt's step {dbt[1]:.1f} / {dbt[0]:.1f} s)" if None not in dbt else ""
        out.append(
            f"incremental run after one more day at {grown['days'][1]} vs {grown['days'][0]} days: "
            f"{grown['seconds'][1]:.1f} / {grown['seconds'][0]:.1f} s = {grown['ratio']:.2f}x{dbt_part}"
        )
    for s in sizes:
        cmp = github_comparison(s)
        if cmp:
            out.append(
                f"GitHub, {s['services']} x {s['days']} d: opmetrics {cmp['opmetrics_records']:,} records in "
                f"{cmp['opmetrics_s']:.1f} s with {cmp['opmetrics_requests']:,} requests; dlt {cmp['dlt_records']:,} "
                f"records in {cmp['dlt_s']:.1f} s with {cmp['dlt_requests']:,} requests"
            )
    for s in sizes:
        for run, label in (("full", "full run"), ("incremental", "incremental run, one more day")):
            by_step = s.get(run, {}).get("peak_rss_by_step")
            if by_step:
                top = ", ".join(
                    f"{step} {peak['rss_mib']:,.0f} ({peak['kind']})" for step, peak in list(by_step.items())[:4]
                )
                out.append(f"largest process by step, MiB, {s['services']} x {s['days']} d, {label}: {top}")
    for s in sizes:
        for run, label in (
            ("full", "full run"),
            ("incremental_same", "same history again"),
            ("incremental", "one more day"),
        ):
            failed = s.get(run, {}).get("summary", {}).get("checks", {}).get("failed_names")
            if failed:
                out.append(f"checks failed, {s['services']} x {s['days']} d, {label}: {', '.join(failed)}")
    out.append("")
    out.append("goals (worst size):")
    verdicts = goal_verdicts(result)
    width = max(len(goal) for goal, _, _ in verdicts)
    out += [f"  {goal.ljust(width)}  {measured:>22}  {verdict}" for goal, measured, verdict in verdicts]
    diff = result.get("history_diff")
    if diff:
        services = max(s["services"] for s in sizes)
        sample = "" if diff["services"] == services else f" (on {diff['services']} of the {services} services)"
        out.append(summary_line(diff) + sample)
    return "\n".join(out)
