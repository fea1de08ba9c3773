"""The scale benchmark: `opmetrics run` on a large sample organisation, measured against the scale goals.

    .venv/bin/python -m benchmarks.scale --services N --days D [--history-multiples 1 4] [--skip-dlt]
    .venv/bin/python -m benchmarks.scale --preset 1000        # what `make bench-scale` runs

For each history length (`--days` times each of `--history-multiples`), in a fresh work folder:
1. the sample organisation is generated and served in a process of its own, as `opmetrics demo` does
   (`source_mix=True`, `opsgenie_services=services // 6`), ending `--end` (fixed, so runs compare over time);
2. the full run: the real CLI, `opmetrics run`, in a child process, on an empty warehouse and a fresh
   DAGSTER_HOME, with `OPMETRICS_AS_OF` the end date; the RSS of its whole process tree is sampled every 0.3 s;
3. for the base length only (multiple 1, else the first): dlt's `rest_api` source reads the GitHub endpoints of
   the same server into DuckDB (`benchmarks/scale_dlt.py`, unless `--skip-dlt`);
4. at every length: `opmetrics run` runs again on the same warehouse and DAGSTER_HOME against the same history (an
   incremental run with no new day); then the organisation is served again with one more day (same seed, end a
   day later) and `opmetrics run` runs once more: the incremental run after one more day. Measured at every
   length, the incremental runs show how they grow with the history (`incremental_growth`).
Requests, records, step times and the checks' time come from the Dagster event log (`benchmarks/scale_events.py`).
At the end, how close the one-more-day history is to the first is measured (`benchmarks/history_diff.py`), one
table is printed (`benchmarks/scale_table.py`) and the same figures are written as JSON (`--json`).

The work folder (`--work-dir`, default `data/bench/scale/`) keeps each run's log and warehouse until the next run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from benchmarks.scale_events import load_run_events, peak_rss_by_step, summarize_run
from benchmarks.scale_table import format_table, github_comparison, incremental_growth, rss_growth

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_END = dt.date(2026, 11, 1)
# 1,000 services over 4 x 730 days would not fit the 24 GiB machine (the server held 874 MiB for 100 services over
# 730 days, so about 9 GB for 1,000 and four times that for 4 x the history), so
# the preset measures the growth from a quarter of the history to all of it: the same 4x.
PRESETS: dict[str, dict[str, Any]] = {"1000": {"services": 1000, "days": 730, "history_multiples": [0.25, 1.0]}}
QUIET = {
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


def demo_options(services: int) -> dict[str, Any]:
    """The `generate` options `opmetrics demo` uses: services over every source, a sixth of them on Opsgenie."""
    return {"source_mix": True, "opsgenie_services": services // 6}


def serving_options(services: int, tokens: dict[str, str]) -> dict[str, Any]:
    """`serve_process`'s keyword arguments for the benchmark's organisation: the demo's options, and a start-up wait
    for minutes of generation (1,000 services over 730 days), far past the 120 s the tests' servers get."""
    return {"tokens": tokens, "options": demo_options(services), "start_timeout": 1800}


def github_repositories(catalog: dict[str, Any]) -> list[dict[str, str]]:
    """The GitHub repositories the catalog maps (with their branch), once each, as the GitHub connector reads them."""
    branches: dict[str, str] = {}
    for service in catalog.get("services", []):
        mapping = service.get("github")
        if mapping:
            branches.setdefault(mapping["repo"], mapping.get("branch", "main"))
    return [{"repo": repo, "branch": branch} for repo, branch in sorted(branches.items())]


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()  # fmt: skip
        return out.stdout.strip() + ("+changes" if dirty else "")
    except OSError:
        return "unknown"


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def write_run_config(work: Path, catalog_yaml: str) -> Path:
    """The config a run in `work` reads (OPMETRICS_CONFIG): the served catalog, the warehouse in `work`."""
    config = work / "opmetrics.yaml"
    config.write_text("warehouse: warehouse.duckdb\n" + catalog_yaml)
    return config


def run_cli(
    work: Path,
    home: Path,
    catalog_yaml: str,
    tokens: dict[str, str],
    as_of: dt.date,
    server_pid: int,
    label: str,
    timeout: float | None,
    skip_run_ids: list[str],
) -> dict[str, Any]:
    """`opmetrics run` in a child process against the served catalog; what it used and what its run recorded."""
    from benchmarks.proctree import rss_mib, run_watched
    from sample_org import token_environment

    config = write_run_config(work, catalog_yaml)
    env = {k: v for k, v in os.environ.items() if k not in ("OPMETRICS_WAREHOUSE", "OPMETRICS_SNAPSHOT")}
    env |= QUIET | token_environment(tokens)
    env |= {"OPMETRICS_CONFIG": str(config), "DAGSTER_HOME": str(home), "OPMETRICS_AS_OF": as_of.isoformat()}
    cli = Path(sys.executable).with_name("opmetrics")
    log = work / f"{label}.log"
    print(f"  {label}: opmetrics run (log: {log.relative_to(ROOT) if log.is_relative_to(ROOT) else log})", flush=True)
    usage = run_watched([str(cli), "run"], env, ROOT, log, timeout, exclude={"server": server_pid})
    ok = usage.returncode == 0 and not usage.timed_out
    if not ok:
        print(f"  {label}: exit {usage.returncode}{' (timed out)' if usage.timed_out else ''}; log tail:\n"
              + _tail(log), flush=True)  # fmt: skip
    result: dict[str, Any] = {
        "ok": ok,
        "seconds": round(usage.seconds, 2),
        "usage": {k: v for k, v in usage.__dict__.items() if k not in ("excluded_cpu_seconds", "rss_samples")},
        "server_cpu_s": round(usage.excluded_cpu_seconds.get("server", 0.0), 2),
        "server_rss_mib": round(rss_mib(server_pid), 1),
    }
    try:
        run_id, status, events = load_run_events(home, skip_run_ids)
        skip_run_ids.append(run_id)
        result |= {"run_id": run_id, "status": status, "summary": summarize_run(events)}
        result["peak_rss_by_step"] = peak_rss_by_step(events, usage.rss_samples)
        (work / f"{label}-events.json").write_text(json.dumps([e.to_json() for e in events]))
    except Exception as exc:  # no run recorded (it failed before starting): the usage still stands
        result["summary_error"] = f"{type(exc).__name__}: {exc}"
    s = result.get("summary", {})
    print(f"  {label}: {usage.seconds:.1f}s, {s.get('raw_rows', 0):,} raw rows, largest process "
          f"{usage.kernel_max_rss_mib:.0f} MiB", flush=True)  # fmt: skip
    return result


def run_dlt(work: Path, catalog_yaml: str, tokens: dict[str, str], server_pid: int, timeout: float | None) -> dict:
    """dlt's `rest_api` on the same GitHub endpoints, in a child process (see `benchmarks/scale_dlt.py`)."""
    from benchmarks.proctree import run_watched

    catalog = yaml.safe_load(catalog_yaml)
    github = catalog["sources"]["github"]
    dlt_dir = work / "dlt"
    shutil.rmtree(dlt_dir, ignore_errors=True)
    dlt_dir.mkdir(parents=True)
    spec = {
        "api_url": github["api_url"],
        "token": tokens["github"],
        "repos": github_repositories(catalog),
        "page_size": int(github.get("page_size", 100)),  # the connector's default page size is 100
        "work_dir": str(dlt_dir),
    }
    (dlt_dir / "spec.json").write_text(json.dumps(spec))
    log = work / "dlt.log"
    print(f"  dlt: rest_api over {len(spec['repos'])} repositories", flush=True)
    usage = run_watched(
        [sys.executable, "-m", "benchmarks.scale_dlt", str(dlt_dir / "spec.json")],
        {**os.environ, **QUIET},
        ROOT,
        log,
        timeout,
        exclude={"server": server_pid},
        kind_of_root="dlt",
    )
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("{")]
    if usage.returncode != 0 or not lines:
        print("  dlt: failed; log tail:\n" + _tail(log), flush=True)
        return {"error": f"exit {usage.returncode}", "usage": usage.__dict__}
    result = json.loads(lines[-1])
    result |= {
        "wall_s": round(usage.seconds, 2),
        "peak_rss_mib": round(usage.kernel_max_rss_mib, 1),
        "server_cpu_s": round(usage.excluded_cpu_seconds.get("server", 0.0), 2),
        "repositories": len(spec["repos"]),
    }
    print(f"  dlt: {sum(result['rows'].values()):,} records in {result['seconds']['total']:.1f}s", flush=True)
    return result


def measure_size(args: argparse.Namespace, days: int, base: bool, work: Path) -> dict[str, Any]:
    """Full run and the incremental runs (and, for the base size, dlt) at `days` days of history."""
    from benchmarks.proctree import rss_mib
    from sample_org import sample_tokens
    from sample_org.process import serve_process

    shutil.rmtree(work, ignore_errors=True)
    home = work / "dagster_home"
    home.mkdir(parents=True)
    tokens = sample_tokens()
    serving = serving_options(args.services, tokens)
    size: dict[str, Any] = {"services": args.services, "days": days, "end": args.end.isoformat(), "work_dir": str(work)}
    run_ids: list[str] = []
    print(f"{args.services} services x {days} days: generating and serving the organisation", flush=True)
    with serve_process(args.services, days, args.seed, args.end, **serving) as served:
        port = urlsplit(served.url).port
        size["server"] = {"start_s": round(served.start_seconds, 1), "rss_mib": round(rss_mib(served.pid), 1)}
        print(f"  served in {served.start_seconds:.0f}s ({size['server']['rss_mib']:.0f} MiB)", flush=True)
        size["full"] = run_cli(
            work, home, served.catalog_yaml, tokens, args.end, served.pid, "full", args.run_timeout, run_ids
        )
        # The comparison needs opmetrics' GitHub sync to have finished, even if the run then failed or timed out.
        summary = size["full"].get("summary", {})
        github = summary.get("sources", {}).get("github")
        github_synced = bool(github) and all(summary["steps"][k]["status"] == "STEP_SUCCESS" for k in github["steps"])
        if base and not args.skip_dlt and github_synced:
            size["dlt"] = run_dlt(work, served.catalog_yaml, tokens, served.pid, args.run_timeout)
        # A full run that failed a blocking check still ran every step it could: the incremental runs still tell.
        ran = "summary" in size["full"] and not size["full"]["usage"]["timed_out"]
        if ran:
            # The same history again: a lower bound of the incremental run, valid whatever the generator does
            # with one more day (see `history_diff`).
            size["incremental_same"] = run_cli(
                work, home, served.catalog_yaml, tokens, args.end, served.pid, "incremental-same", args.run_timeout,
                run_ids,
            )  # fmt: skip
    if ran:
        later = args.end + dt.timedelta(days=1)
        print(f"  serving {days + 1} days ending {later} (one more day) for the incremental run", flush=True)
        # On the first server's address, as a real API keeps its own: payloads carry their URLs (GitHub's commits
        # link themselves), and on a new port every record a sync re-reads would differ from the one it stored.
        with serve_process(args.services, days + 1, args.seed, later, port=port, **serving) as served:
            size["incremental_server_start_s"] = round(served.start_seconds, 1)
            size["incremental"] = run_cli(
                work, home, served.catalog_yaml, tokens, later, served.pid, "incremental", args.run_timeout, run_ids
            )
    if not args.keep_warehouse:
        for stale in work.glob("*.duckdb*"):
            stale.unlink()
        shutil.rmtree(work / "dlt", ignore_errors=True)
    return size


def resummarize(result: dict[str, Any]) -> dict[str, Any]:
    """An earlier result with its runs summarized again from the events saved beside it (when they are still
    there), so a change to the summary shows on old measurements without running them again."""
    from benchmarks.scale_events import Event

    for size in result["sizes"]:
        work = Path(size.get("work_dir", ""))
        for label, key in (("full", "full"), ("incremental-same", "incremental_same"), ("incremental", "incremental")):
            events_file = work / f"{label}-events.json"
            if size.get(key) and events_file.is_file():
                events = [Event.from_json(e) for e in json.loads(events_file.read_text())]
                size[key]["summary"] = summarize_run(events)
        size["github_vs_dlt"] = github_comparison(size)
    result["rss_growth"] = rss_growth(result["sizes"])
    result["incremental_growth"] = incremental_growth(result["sizes"])
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with what it leaves out filled from the preset (or the defaults).

    `history_multiples` comes back sorted and without duplicates, e.g. `--preset 1000 --history-multiples 1`
    keeps the preset's services and days and measures one history length only.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a named size (services, days, multiples)")
    parser.add_argument("--services", type=int, help="services (default 30, or the preset's)")
    parser.add_argument("--days", type=int, help="days of history (default 365, or the preset's)")
    parser.add_argument(
        "--history-multiples",
        type=float,
        nargs="+",
        help="full and incremental runs at these multiples of --days (e.g. 1 4); their growth is reported",
    )
    parser.add_argument("--skip-dlt", action="store_true", help="leave out the dlt comparison")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=DEFAULT_END, help="last day (exclusive)")
    parser.add_argument("--run-timeout", type=float, default=3600, help="seconds before a run is killed")
    parser.add_argument(
        "--history-diff-services",
        type=int,
        default=100,
        help="services generated to compare the one-more-day history with the first (0: skip)",
    )
    parser.add_argument("--work-dir", type=Path, default=ROOT / "data" / "bench" / "scale")
    parser.add_argument("--json", type=Path, help="where to write the JSON (default: WORK_DIR/scale-SxD.json)")
    parser.add_argument("--keep-warehouse", action="store_true", help="keep the warehouses and dlt's DuckDB file")
    parser.add_argument("--table-from", type=Path, help="print the table of an earlier JSON result, and stop")
    args = parser.parse_args(argv)
    defaults = PRESETS[args.preset] if args.preset else {"services": 30, "days": 365, "history_multiples": [1.0]}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.services < 1 or args.days < 1 or min(args.history_multiples) <= 0:
        parser.error("--services, --days and --history-multiples must be positive")
    args.history_multiples = sorted(set(args.history_multiples))
    return args


def history_lengths(days: int, multiples: list[float]) -> list[tuple[int, bool]]:
    """(days, is the base length) per multiple: the base is multiple 1, else the shortest; it gets dlt (every
    length gets the incremental runs)."""
    base = 1.0 if 1.0 in multiples else min(multiples)
    return [(max(1, round(days * m)), m == base) for m in sorted(set(multiples))]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.table_from:
        print(format_table(resummarize(json.loads(args.table_from.read_text()))))
        return
    lengths = history_lengths(args.days, args.history_multiples)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "scale",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "args": {k: (str(v) if isinstance(v, Path | dt.date) else v) for k, v in vars(args).items()},
        "sizes": [],
    }
    for days, base in lengths:
        result["sizes"].append(measure_size(args, days, base, args.work_dir / f"{args.services}x{days}"))
    result["rss_growth"] = rss_growth(result["sizes"])
    result["incremental_growth"] = incremental_growth(result["sizes"])
    for size in result["sizes"]:
        size["github_vs_dlt"] = github_comparison(size)
    if args.history_diff_services > 0:
        from benchmarks.history_diff import diff_histories

        n = min(args.services, args.history_diff_services)
        days = next(d for d, base in lengths if base)
        print(f"comparing the history with one more day to the first ({n} services x {days} days)", flush=True)
        diff = diff_histories(n, days, args.seed, args.end, demo_options(n))
        result["history_diff"] = {"services": n, "days": days, **diff}
    result["benchmark_s"] = round(time.perf_counter() - started, 1)
    out = args.json or args.work_dir / f"scale-{args.services}x{args.days}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print()
    print(format_table(result))
    print(f"\nJSON: {out}  (benchmark took {result['benchmark_s']:.0f}s; commit {result['commit']})")


if __name__ == "__main__":
    main()
