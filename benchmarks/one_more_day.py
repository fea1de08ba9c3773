"""A/B of the run after one more day: the same warehouse, the same day of new data, several ways, alternating.

    .venv/bin/python -m benchmarks.one_more_day --services 1000 --days 730 \
        --variant two-threads:OPMETRICS_DBT_THREADS=2 --variant four-threads:OPMETRICS_DBT_THREADS=4 --repeats 3

One `benchmarks.scale` run measures the run after one more day once, and on this machine that run moves by several
seconds from one benchmark to the next: a change worth a second or two cannot be told from noise that way. This
script measures the same run many times instead. It serves the organisation (the benchmark's options), makes a full
run into a base folder (or re-uses one: `--base`), then serves the organisation with one more day on the same port
and, for each repeat, runs `opmetrics run` once per variant, in turn, each on a fresh copy of the base folder
(warehouse, snapshot and DAGSTER_HOME, copied into `<base>-run`). So every run starts from the same warehouse and
reads the same new day. Two things are not reset: dbt's target folder (its saved parse, in the checkout's
`dbt_project/target`), and the machine's caches. Before the first run each variant's code parses the dbt project as
its runs will see it (`prepare_dbt`), so no variant's first run pays a whole parse its later runs do not.

The base is made by this checkout's code, whatever the variants. A run whose dbt code differs from the base's (a
model's SQL, any macro, dbt's version) rebuilds every record of the incremental models once, whatever the new day
holds: such a run is marked `other code than the base` (`differing_code`); compare its variant on a base made with
its code instead (a new `--base` folder, made from a checkout of that code).
Unlike `benchmarks.scale`, whose run after one more day follows a run with the same history again, each run here
follows the full run directly: compare its figures with each other, not with the benchmark's.

A variant is `LABEL` or `LABEL:NAME=VALUE,NAME=VALUE`: environment variables set for its runs only (e.g. a setting,
or `PYTHONPATH=/path/to/another/checkout` to compare commits: the run's processes import the package from there).
A value cannot hold a comma, and a variant cannot unset a variable.
Printed per variant: each run's wall time, the time outside the run's events (imports, start-up, planning, the
summary), dbt's step, the syncs, serving; then the medians. With `--json`, every figure and step as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.scale import DEFAULT_END, run_cli, serving_options, write_run_config

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variant:
    """One way of running: a label and the environment variables its runs get."""

    label: str
    env: Mapping[str, str] = field(default_factory=dict)


def parse_variant(text: str) -> Variant:
    """`LABEL` or `LABEL:NAME=VALUE,NAME=VALUE`; a ValueError naming the text for anything else."""
    label, _, assignments = text.partition(":")
    if not label.strip():
        raise ValueError(f"variant {text!r}: no label before ':'")
    env: dict[str, str] = {}
    for assignment in filter(None, (a.strip() for a in assignments.split(","))):
        name, equals, value = assignment.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"variant {text!r}: {assignment!r} is not NAME=VALUE")
        env[name.strip()] = value
    return Variant(label.strip(), env)


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` set in this process's environment (which `run_cli` hands its child) for the block only."""
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_figures(result: Mapping[str, Any]) -> dict[str, float | None]:
    """What the table shows of one run (`run_cli`'s result): wall time, outside the events, and the step buckets."""
    summary = result.get("summary") or {}
    buckets = summary.get("buckets_s", {})
    seconds = result.get("seconds")
    span = summary.get("run_s")
    return {
        "run_s": seconds,
        "outside_events_s": round(seconds - span, 2) if seconds is not None and span is not None else None,
        "dbt_s": buckets.get("dbt"),
        "syncs_s": buckets.get("raw_sync"),
        "serving_s": buckets.get("serving"),
        "cpu_s": (result.get("usage") or {}).get("cpu_seconds"),
        "largest_process_mib": (result.get("usage") or {}).get("kernel_max_rss_mib"),
    }


def code_digests(warehouse: Path) -> dict[str, str]:
    """The digest of the dbt code that built each incremental model, union and view, by `schema.name`.

    dbt keeps it at the start of the relation's comment (`remember_code_digest`, macros/incremental_raw.sql).
    """
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select schema_name || '.' || table_name, comment from duckdb_tables() where comment is not null "
            "union all "
            "select schema_name || '.' || view_name, comment from duckdb_views() where comment is not null"
        ).fetchall()
    finally:
        con.close()
    return {name: match.group(0) for name, comment in rows if (match := re.match(r"[0-9a-f]{32}\b", comment))}


def differing_code(base: Mapping[str, str], run: Mapping[str, str]) -> list[str]:
    """The relations a run rebuilt with other code than the base's (`code_digests` of each warehouse)."""
    return sorted(name for name, digest in base.items() if run.get(name, digest) != digest)


def prepare_dbt(work: Path, catalog_yaml: str, env: Mapping[str, str], as_of: dt.date) -> None:
    """Parse the dbt project with `env` (a variant's) for a run in `work` as of `as_of`, as `opmetrics run` would there.

    dbt parses the whole project again, not only what changed, when its profile differs from the last parse's, and
    the profile holds the warehouse's path: the run's folder is not the base's. Without this, a variant's first run
    would pay that parse (5.3 s at 1,000 services, in dbt's step) and its later runs would not; nor the seeds'
    (1.3 s), which dagster-dbt's preparer leaves to be parsed again.
    """
    config = write_run_config(work, catalog_yaml)
    script = (
        "import os\n"
        "from orchestration.config import load_catalog\n"
        "from orchestration.dbt.project import dbt_project\n"
        "catalog, file = load_catalog(resolve_secrets=False)\n"
        "os.environ['OPMETRICS_WAREHOUSE'] = os.fspath(catalog.warehouse_path(file.parent))\n"
        "dbt_project.preparer.prepare(dbt_project)\n"
        # dagster-dbt's preparer leaves the seeds for the next parse to read again (it invalidates their entries in
        # dbt's saved parse): read them now, not in the first run's build (1.3 s, with every model that reads them)
        "from dagster_dbt import DbtCliResource\n"
        "DbtCliResource(project_dir=dbt_project).cli(['ls', '--quiet', '--no-write-json', '--resource-type', 'seed'],"
        " target_path=dbt_project.target_path).wait()\n"
    )
    # From the run's folder, not the checkout: a PYTHONPATH in `env` then decides whose code parses.
    child_env = {k: v for k, v in os.environ.items() if k != "OPMETRICS_WAREHOUSE"} | dict(env)
    # and the as-of date: a variant whose parse reads it (code before macros/as_of.sql read it only at run time)
    # would parse again in its first run
    child_env |= {"OPMETRICS_CONFIG": str(config), "OPMETRICS_AS_OF": as_of.isoformat()}
    subprocess.run([sys.executable, "-c", script], env=child_env, cwd=work,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip


FIGURES = ("run_s", "outside_events_s", "dbt_s", "syncs_s", "serving_s", "cpu_s", "largest_process_mib")


def format_report(runs: Mapping[str, list[dict[str, float | None]]]) -> str:
    """One line per run, then one per variant with the medians; a failed run shows `FAILED`."""
    header = f"{'variant':<20} {'run':>4} " + " ".join(f"{name:>19}" for name in FIGURES)
    lines = [header, "-" * len(header)]

    def cell(value: float | None) -> str:
        return f"{value:>19.2f}" if value is not None else f"{'-':>19}"

    for label, figures in runs.items():
        for index, one in enumerate(figures, 1):
            failed = "" if one.get("ok", True) else "  FAILED"
            failed += "  other code than the base" if one.get("code_differs") else ""
            lines.append(f"{label:<20} {index:>4} " + " ".join(cell(one.get(n)) for n in FIGURES) + failed)
    lines.append("-" * len(header))
    for label, figures in runs.items():
        medians = []
        for name in FIGURES:
            values = [f[name] for f in figures if f.get(name) is not None and f.get("ok", True)]
            medians.append(statistics.median(values) if values else None)
        lines.append(f"{label:<20} {'med':>4} " + " ".join(cell(m) for m in medians))
    return "\n".join(lines)


def make_base(args: argparse.Namespace, tokens: dict[str, str]) -> tuple[int, str]:
    """Serve the organisation and make the full run into `args.base`; (the server's port, the full run's id)."""
    from sample_org.process import serve_process

    if args.base.exists() and any(args.base.iterdir()) and not (args.base / "base.json").is_file():
        sys.exit(f"{args.base} is not empty and holds no base.json: give an empty or new folder as --base")
    shutil.rmtree(args.base, ignore_errors=True)
    (args.base / "dagster_home").mkdir(parents=True)
    serving = serving_options(args.services, tokens)
    print(f"{args.services} services x {args.days} days: serving, then the full run into {args.base}", flush=True)
    with serve_process(args.services, args.days, args.seed, args.end, **serving) as served:
        run_ids: list[str] = []
        full = run_cli(args.base, args.base / "dagster_home", served.catalog_yaml, tokens, args.end, served.pid,
                       "full", args.run_timeout, run_ids)  # fmt: skip
        if not full["ok"] or not run_ids:
            sys.exit(f"the full run failed: see {args.base / 'full.log'}")
        port = urlsplit(served.url).port or 0
    (args.base / "base.json").write_text(json.dumps({"port": port, "run_id": run_ids[0], **_size(args)}))
    return port, run_ids[0]


def _size(args: argparse.Namespace) -> dict[str, Any]:
    return {"services": args.services, "days": args.days, "seed": args.seed, "end": args.end.isoformat()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=DEFAULT_END, help="last day (exclusive)")
    parser.add_argument("--variant", dest="variants", action="append", type=parse_variant, default=[],
                        help="LABEL[:NAME=VALUE,...] (repeatable; default: one variant, 'as-is')")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant, alternating")
    parser.add_argument("--base", type=Path, default=ROOT / "data" / "bench" / "one-more-day" / "base",
                        help="the full run's folder; re-used when it holds a full run of the same size")  # fmt: skip
    parser.add_argument("--run-timeout", type=float, default=600, help="seconds before a run is killed")
    parser.add_argument("--json", type=Path, help="write every run's figures and steps here")
    args = parser.parse_args(argv)
    if not args.variants:
        args.variants = [Variant("as-is")]
    if len({v.label for v in args.variants}) < len(args.variants):
        parser.error("--variant labels must differ")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    from sample_org import sample_tokens
    from sample_org.process import serve_process

    args = parse_args(argv)
    stored = args.base / "base.json"
    base = json.loads(stored.read_text()) if stored.is_file() else {}
    # The sample APIs take whatever tokens they are served with: none is stored beside the base.
    tokens = sample_tokens()
    if base and {k: base.get(k) for k in _size(args)} == _size(args):
        print(f"re-using the full run in {args.base}", flush=True)
        port, base_run = base["port"], base["run_id"]
    else:
        port, base_run = make_base(args, tokens)
    later = args.end + dt.timedelta(days=1)
    work = args.base.with_name(args.base.name + "-run")
    serving = serving_options(args.services, tokens)
    runs: dict[str, list[dict[str, Any]]] = {v.label: [] for v in args.variants}
    base_code = code_digests(args.base / "warehouse.duckdb")
    print(f"serving {args.days + 1} days ending {later} on port {port}", flush=True)
    with serve_process(args.services, args.days + 1, args.seed, later, port=port, **serving) as served:
        # the parse needs the runs' paths, not their warehouse: each run copies the base again anyway
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for variant in args.variants:
            print(f"  {variant.label}: parsing the dbt project for its runs", flush=True)
            prepare_dbt(work, served.catalog_yaml, variant.env, later)
        for repeat in range(args.repeats):
            for variant in args.variants:
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(args.base, work)
                label = f"{variant.label}-{repeat + 1}"
                started = time.perf_counter()
                with environment(variant.env):
                    result = run_cli(work, work / "dagster_home", served.catalog_yaml, tokens, later, served.pid,
                                     label, args.run_timeout, [base_run])  # fmt: skip
                figures = {"ok": result["ok"], **run_figures(result)}
                other_code = differing_code(base_code, code_digests(work / "warehouse.duckdb"))
                if other_code:
                    figures["code_differs"] = len(other_code)
                    print(f"  {label}: built {len(other_code)} relations with other dbt code than the base's "
                          f"(e.g. {other_code[0]}): it rebuilt every record of them", flush=True)  # fmt: skip
                runs[variant.label].append(figures | {"steps": (result.get("summary") or {}).get("steps", {})})
                print(f"  {label}: {figures['run_s']:.1f}s ({time.perf_counter() - started:.0f}s with the copy)",
                      flush=True)  # fmt: skip
    print(format_report(runs))
    if args.json:
        args.json.write_text(json.dumps({"size": _size(args), "variants": {v.label: dict(v.env) for v in
                                         args.variants}, "runs": runs}, indent=1))  # fmt: skip
        print(f"JSON: {args.json}")


if __name__ == "__main__":
    main()
