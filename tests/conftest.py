"""Shared fixtures: the real API examples, a clean environment, and no telemetry."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "reference" / "api-examples"


def example(name: str, key: str = "value") -> Any:
    """The body of a recorded API example, e.g. example("github-deployments")."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())[key]


@pytest.fixture
def examples() -> Path:
    if not EXAMPLES.exists():
        pytest.skip(f"API examples not found at {EXAMPLES}")
    return EXAMPLES


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """dbt's manifest, parsed once per session: the Dagster definitions cannot load without it."""
    from orchestration.dbt.project import dbt_project

    dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path
