"""Shared fixtures: the recorded API examples, a clean environment, no telemetry, and nothing read outside the
repository."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# Found once, before the audit hook below is added: the first `gettempdir()` opens files to probe the folder.
SCRATCH = Path(tempfile.gettempdir()).resolve()


def outside_the_repository(path: str | os.PathLike[str], root: Path | None = None, scratch: Path | None = None) -> bool:
    """True for a file beside the repository `root` (this one by default): under its parent folder, not under the
    repository itself.

    Dot-entries of the parent (`~/.cache`, `~/.config` when the repository is cloned into a home folder) belong to
    the user's tools, not to anything the project could depend on, so they do not count. Nor does the system's temp
    folder (`scratch`, by default `tempfile.gettempdir()`: pytest's `tmp_path`, DuckDB's and Dagster's scratch files)
    when the repository is cloned straight into it (`/tmp/opmetrics`) or beside it (`TMPDIR=~/tmp`, a clone in `~`):
    its files are some process's scratch space, never a checkout's. A repository in a folder of its own inside it
    (CI's `$(mktemp -d)/opmetrics`) keeps the whole check.
    """
    # The module's values at call time, not at definition: a test points the hook at a layout of its own.
    root = root if root is not None else ROOT
    scratch = scratch if scratch is not None else SCRATCH
    parent = root.parent
    try:
        resolved = Path(os.fsdecode(path)).resolve()
        relative = resolved.relative_to(parent)
    except (ValueError, OSError, TypeError):
        return False
    first = relative.parts[0] if relative.parts else ""
    if first == root.name or first.startswith("."):
        return False
    parent_has_its_own_folder = parent != scratch and parent.is_relative_to(scratch)
    return parent_has_its_own_folder or not resolved.is_relative_to(scratch)


def _refuse_reads_beside_the_repository(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: opening a file beside the repository fails the test that does it.

    A user clones the repository alone; a test that reads `../<anything>` passes here and fails for them.
    """
    path = args[0] if event == "open" and args else None
    if isinstance(path, str | bytes | os.PathLike) and outside_the_repository(path):
        raise PermissionError(f"the tests read {path}, outside the repository {ROOT}; copy it into tests/fixtures")


sys.addaudithook(_refuse_reads_beside_the_repository)


def example(name: str, key: str = "value") -> Any:
    """The body of a recorded API example in tests/fixtures, e.g. example("github/deployments")."""
    return json.loads((FIXTURES / f"{name}.json").read_text())[key]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Parse the dbt project first when an edit made its manifest stale.

    The dbt assets read the manifest when their module is imported, which collection does: a stale manifest would
    name tests and models the build no longer has, and the end-to-end runs would fail on it. Under pytest-xdist
    the controller does this before it starts the workers, so they never parse at the same time.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    from orchestration.dbt.project import ensure_manifest

    ensure_manifest()


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """dbt's manifest, current for the session (see `pytest_sessionstart`)."""
    from orchestration.dbt.project import dbt_project

    return dbt_project.manifest_path
