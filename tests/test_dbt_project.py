"""The dbt project on its own: every unit test (the edge cases of the metric definitions) and its docs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.registry import CONNECTORS
from orchestration.dbt.project import DBT_PROJECT_DIR
from orchestration.warehouse import connect, ensure_raw_table

DBT = str(Path(sys.executable).with_name("dbt"))


def dbt(args: list[str], warehouse: Path, target: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPMETRICS_WAREHOUSE": str(warehouse), "OPMETRICS_AS_OF": "2026-06-30"}
    return subprocess.run(
        [DBT, *args, "--target-path", str(target), "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


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
