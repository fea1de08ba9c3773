"""The dbt project on its own: every unit test (the edge cases of the metric definitions) and its docs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from connectors.registry import CONNECTORS
from orchestration.dbt.project import DBT_PROJECT_DIR
from orchestration.warehouse import connect, ensure_raw_table

DBT = str(Path(sys.executable).with_name("dbt"))
PARTIAL_PARSE = "partial_parse.msgpack"
# dbt's parse of each (project, warehouse file name), kept from the first run that made it
_parses: dict[tuple[Path, str], bytes] = {}


def dbt(
    args: list[str],
    warehouse: Path,
    target: Path,
    project: Path = DBT_PROJECT_DIR,
    executable: str = DBT,
    as_of: str = "2026-06-30",
) -> subprocess.CompletedProcess[str]:
    """dbt (`executable`) in a subprocess on `warehouse`, with its artifacts in `target`, as of `as_of`.

    dbt parses again from scratch (about 10 s) when its profile changed, and the warehouse's path is part of the
    profile: so dbt runs in the warehouse's folder and finds it by file name, and a new target starts from the parse
    an earlier test made for the same project and file name instead of from nothing.
    """
    key = (project, warehouse.name)
    saved = target / PARTIAL_PARSE
    if key in _parses and not saved.exists():
        target.mkdir(parents=True, exist_ok=True)
        saved.write_bytes(_parses[key])
    env = {**os.environ, "OPMETRICS_WAREHOUSE": warehouse.name, "OPMETRICS_AS_OF": as_of}
    result = subprocess.run(
        [executable, *args,
         "--target-path", str(target), "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=warehouse.parent, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if key not in _parses and saved.exists():
        _parses[key] = saved.read_bytes()
    return result


def log_file_levels(log: Path) -> Counter[str]:
    """How many lines of each level dbt's text log file (`log`) holds; none if it was never written."""
    lines = log.read_text().splitlines() if log.exists() else []
    # dbt's debug line: "12:00:00.123456 [debug] [MainThread]: message"
    return Counter(m.group(1) for m in map(re.compile(r"^\S+ \[(\w+)\s*\]").match, lines) if m)


@pytest.fixture(scope="module")
def empty_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A warehouse whose every model exists, empty: what dbt unit tests need to read column types."""
    tmp = tmp_path_factory.mktemp("dbt")
    warehouse, target = tmp / "w.duckdb", tmp / "target"
    with connect(warehouse) as con:
        for name, cls in CONNECTORS.items():
            for stream in cls.streams:
                ensure_raw_table(con, name, stream.name)
        from orchestration.raw.catalog import write_catalog
        from tests.test_config import GOOD

        os.environ.setdefault("TEST_GITHUB_TOKEN", "x")
        os.environ.setdefault("TEST_PD_TOKEN", "x")
        from orchestration.config import parse_catalog

        write_catalog(con, parse_catalog(GOOD))
    result = dbt(["build", "--empty", "--exclude-resource-type", "unit_test", "test"], warehouse, target)
    assert result.returncode == 0, result.stdout[-3000:]
    return warehouse, target


def test_every_unit_test_passes(empty_build: tuple[Path, Path]) -> None:
    warehouse, target = empty_build
    result = dbt(["test", "--select", "test_type:unit"], warehouse, target)
    assert result.returncode == 0, result.stdout[-5000:]
    statuses = {r["unique_id"]: r["status"] for r in json.loads((target / "run_results.json").read_text())["results"]}
    declared = json.loads((target / "manifest.json").read_text())["unit_tests"]
    assert set(statuses) == set(declared), "every unit test the project declares runs"
    assert [u for u, status in statuses.items() if status != "pass"] == []
    # Each edge case of docs/metrics.md is pinned by at least one unit test named `edge_<nn>_...`.
    pinned = {declared[u]["name"][:7] for u in declared if declared[u]["name"].startswith("edge_")}
    assert pinned == {f"edge_{n:02d}" for n in range(1, 21)}, sorted(pinned)


def test_docs_describe_every_mart_column(empty_build: tuple[Path, Path]) -> None:
    warehouse, target = empty_build
    result = dbt(["docs", "generate"], warehouse, target)
    assert result.returncode == 0, result.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    undocumented = []
    for unique_id, node in catalog["nodes"].items():
        if node["metadata"]["schema"] != "marts":
            continue
        described = manifest["nodes"][unique_id]["columns"]
        for column in node["columns"]:
            if not described.get(column, {}).get("description"):
                undocumented.append(f"{node['metadata']['name']}.{column}")
    assert not undocumented, f"mart columns without a description: {undocumented}"


# 300 services, each a first-parent chain of 1,500 commits with a merged branch commit beside every tenth one.
DEEP_HISTORY = """
insert into intermediate.int_mainline_commits_unioned by name
with commits as (
    select
        s, i, 'm' as kind,
        case
            when i = 0 then []
            when i % 10 = 0 then [md5(s || 'm' || (i - 1)), md5(s || 'b' || i)]
            else [md5(s || 'm' || (i - 1))]
        end as parent_shas
    from range(300) as services (s), range(1500) as chain (i)
    union all
    select s, i, 'b', [md5(s || 'm' || (i - 1))]
    from range(300) as services (s), range(10, 1500, 10) as branch (i)
)
select
    'github' as source,
    'raw_github.commits' as source_table,
    s || ':' || kind || i as record_id,
    'service-' || s as service,
    'acme/service-' || s as repo,
    'main' as branch,
    md5(s || kind || i) as sha,
    parent_shas,
    'dev' as author_name,
    'dev@acme.test' as author_email,
    timestamptz '2024-01-01 00:00:00+00' + to_minutes(i * 10 - (kind = 'b')::int * 5) as authored_at,
    authored_at as committed_at,
    repeat('a commit message long enough to weigh something ', 4) || i as message
from commits
"""


def test_the_mainline_walk_fits_a_deep_history_in_a_small_memory_limit(
    empty_build: tuple[Path, Path], tmp_path: Path
) -> None:
    """int_mainline_commits walks 1,500 first-parent steps for 300 services within 112MB of DuckDB's memory.

    The walk repeats its join once per step. On (service, sha) strings it needed 128-160MB here and failed with
    an out-of-memory error (as it did once in a build at 1,000 services x 730 days); on integer ids, 64-96MB.
    """
    warehouse, target = tmp_path / "w.duckdb", tmp_path / "target"
    shutil.copy(empty_build[0], warehouse)
    with connect(warehouse) as con:
        con.execute(DEEP_HISTORY)
    # the walk of every service, as a first run or --full-refresh builds it (not a daily run's changed services)
    result = dbt(["compile", "--select", "int_mainline_commits", "--full-refresh"], warehouse, target)
    assert result.returncode == 0, result.stdout[-3000:]
    walk = next(target.rglob("int_mainline_commits.sql")).read_text()
    # two threads, as where the limit was measured (what DuckDB needs grows with its threads); the rest as dbt's profile
    config = {"memory_limit": "112MB", "threads": 2, "preserve_insertion_order": False}
    with duckdb.connect(str(warehouse), config=config) as con:
        con.execute(f"create table walked as {walk}")
        chains = con.execute(
            """
            select
                count(*),
                count(distinct service),
                count(*) filter (where sha <> md5(split_part(service, '-', 2) || 'm' || (mainline_position - 1))),
                count(*) filter (where is_merge_commit)
            from walked
            """
        ).fetchone()
    # every mainline commit at its place on the chain (position 1 = the first commit), no branch commit on it
    assert chains == (450_000, 300, 0, 44_700)


def test_a_new_as_of_date_is_compiled_without_parsing_again(tmp_path: Path) -> None:
    """The as-of date changes every day; dbt parses a file again when an environment variable its parse read has
    changed, so the date is read when a model runs (macros/as_of.sql), and the next day's build re-uses the parse."""
    warehouse, target = tmp_path / "w.duckdb", tmp_path / "target"
    first = dbt(["compile", "--select", "int_run_parameters"], warehouse, target, as_of="2026-06-29")
    assert first.returncode == 0, first.stdout[-3000:]
    assert "date '2026-06-29' as as_of_date" in next(target.rglob("int_run_parameters.sql")).read_text()
    next_day = dbt(["compile", "--select", "int_run_parameters", "--log-level", "debug"], warehouse, target)
    assert next_day.returncode == 0, next_day.stdout[-3000:]
    assert "Partial parsing enabled, no changes found, skipping parsing" in next_day.stdout
    assert "date '2026-06-30' as as_of_date" in next(target.rglob("int_run_parameters.sql")).read_text()
