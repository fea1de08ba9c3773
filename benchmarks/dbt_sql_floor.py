"""How much of a `dbt build` is SQL: every node's compiled SQL run one after another in one DuckDB connection.

    .venv/bin/python -m benchmarks.dbt_sql_floor --warehouse PATH [--as-of YYYY-MM-DD] [--build]

The warehouse is copied first (nothing is written to it). dbt compiles the project against the copy, so the
incremental models compile to what a daily run would read; each model's SQL then builds a table (or view) in a
scratch schema and each data test's SQL is counted, in dependency order, with the profile's DuckDB settings. The
sum is the floor a build of these nodes cannot go below, whatever runs them. `--build` also times `dbt build` on
the same copy as the daily run starts it (JSON log lines, as dagster-dbt asks), so the gap between the two is
dbt's own work per node, plus what two threads lose sharing two cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import yaml

from orchestration.dbt.assets import dbt_build_args, dbt_resource
from orchestration.dbt.project import dbt_project


def profile_settings() -> dict[str, str]:
    """The DuckDB settings dbt's profile gives its connection, rendered with this environment as dbt renders them."""
    profile = yaml.safe_load((Path(dbt_project.profiles_dir) / "profiles.yml").read_text())["opmetrics"]
    settings = profile["outputs"][profile["target"]]["settings"]

    def env_var(name: str, default: str | None = None) -> str | None:
        return os.environ.get(name, default)

    return {name: jinja2.Template(str(value)).render(env_var=env_var) for name, value in settings.items()}


def dependency_order(nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The models and data tests of a manifest's `nodes`, each after every node it depends on."""
    graph = {
        unique_id: [p for p in node.get("depends_on", {}).get("nodes", []) if p in nodes]
        for unique_id, node in nodes.items()
    }
    return [u for u in TopologicalSorter(graph).static_order() if nodes[u]["resource_type"] in ("model", "test")]


def statement(node: Mapping[str, Any]) -> str:
    """The statement that does a node's SQL work without touching its relation: a model builds a scratch table
    (a view: a scratch view), a test counts its failing rows."""
    sql = node["compiled_code"]
    if node["resource_type"] == "test":
        return f"select count(*) from ({sql}\n) as failures"
    kind = "view" if node["config"].get("materialized") == "view" else "table"
    return f"create or replace {kind} scratch_sql_floor.{kind}_node as {sql}"


def run_serially(warehouse: Path, nodes: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, float]]:
    """(unique id, kind, seconds) of every model and test, run in dependency order in one connection."""
    timings = []
    with duckdb.connect(warehouse) as con:
        for name, value in profile_settings().items():
            con.execute(f"set {name} = '{value}'")
        con.execute("create schema if not exists scratch_sql_floor")
        for unique_id in dependency_order(nodes):
            node = nodes[unique_id]
            kind = "test" if node["resource_type"] == "test" else node["config"].get("materialized", "table")
            started = time.perf_counter()
            con.execute(statement(node)).fetchall()
            timings.append((unique_id, kind, time.perf_counter() - started))
    return timings


def summarize(timings: Iterable[tuple[str, str, float]], top: int = 10) -> str:
    """Seconds by kind of node, in all, and the slowest nodes."""
    timings = list(timings)
    kinds: dict[str, list[float]] = {}
    for _, kind, seconds in timings:
        kinds.setdefault(kind, []).append(seconds)
    lines = [f"{'kind':<12} {'nodes':>5} {'seconds':>8}"]
    lines += [f"{kind:<12} {len(s):>5} {sum(s):>8.1f}" for kind, s in sorted(kinds.items())]
    lines.append(f"{'all':<12} {len(timings):>5} {sum(t for _, _, t in timings):>8.1f}")
    lines.append("slowest:")
    for unique_id, kind, seconds in sorted(timings, key=lambda t: -t[2])[:top]:
        lines.append(f"  {seconds:6.2f}s {kind:<11} {unique_id.split('.')[-1]}")
    return "\n".join(lines)


def dbt(args: list[str], warehouse: Path, as_of: dt.date, target: Path, json_logs: bool = False) -> float:
    """Seconds `dbt <args>` took on `warehouse`, by the run's dbt (`opmetrics-dbt` since 197f246, whose exit skips
    the last garbage collection: 0.7-1.5 s less than before); raises if it failed."""
    env = os.environ | {
        "OPMETRICS_WAREHOUSE": os.fspath(warehouse),
        "OPMETRICS_AS_OF": as_of.isoformat(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if json_logs:
        env["DBT_LOG_FORMAT"] = "json"
    started = time.perf_counter()
    done = subprocess.run(
        [dbt_resource().dbt_executable, *args, "--target-path", os.fspath(target)],
        cwd=dbt_project.project_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"dbt {args[0]} failed on {warehouse}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True, help="a warehouse a daily run has built (copied)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.datetime.now(dt.UTC).date())
    parser.add_argument("--build", action="store_true", help="also time `dbt build` on the same copy")
    args = parser.parse_args(argv)
    if not args.warehouse.is_file():
        raise SystemExit(f"--warehouse {args.warehouse}: no such file")
    with tempfile.TemporaryDirectory(prefix="sql-floor-") as tmp:
        copy = Path(tmp) / args.warehouse.name
        shutil.copyfile(args.warehouse, copy)
        target = Path(tmp) / "target"
        compile_s = dbt(["compile", "--exclude", "resource_type:unit_test"], copy, args.as_of, target)
        nodes = json.loads((target / "manifest.json").read_text())["nodes"]
        print(f"compiled in {compile_s:.1f}s; the SQL of every node, one after another, in one connection:")
        print(summarize(run_serially(copy, nodes)), flush=True)
        if args.build:
            with duckdb.connect(copy) as con:
                con.execute("drop schema if exists scratch_sql_floor cascade")
            build = dbt_build_args()
            build_s = dbt(build, copy, args.as_of, target, json_logs=True)
            print(f"dbt {' '.join(build)} on the same copy: {build_s:.1f}s")


if __name__ == "__main__":
    main()
