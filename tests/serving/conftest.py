"""Fixtures of the serving tests: a small warehouse with the real marts' columns, and its published snapshot."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from orchestration.serving.publish import PublishedSnapshot, publish_snapshot
from tests.serving.fixtures import build_warehouse


def require(tool: Path, install: str) -> Path:
    """`tool` if it exists. Outside CI a missing tool skips the test, saying how to install it; in CI it fails."""
    if tool.exists():
        return tool
    message = f"{tool} is not installed: {install}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must install it)")
    pytest.skip(message)


def venv_tool(name: str) -> Path:
    """An executable installed beside this interpreter (the project's venv)."""
    return Path(sys.executable).with_name(name)


@pytest.fixture(scope="session")
def warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session; tests get their own copy."""
    return build_warehouse(tmp_path_factory.mktemp("template") / "warehouse.duckdb")


@pytest.fixture
def warehouse(tmp_path: Path, warehouse_template: Path) -> Path:
    return Path(shutil.copyfile(warehouse_template, tmp_path / "warehouse.duckdb"))


@pytest.fixture
def published(warehouse: Path) -> PublishedSnapshot:
    return publish_snapshot(warehouse, warehouse.parent / "opmetrics.duckdb", parquet_dir=warehouse.parent / "parquet")
