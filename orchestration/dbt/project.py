"""The dbt project, in a module of its own so `dagster-dbt project prepare-and-package --file` can import it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# dagster-dbt looks `dbt` up on PATH; a venv that is not activated still has it beside its interpreter.
_bin = os.fspath(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

# Preparing the project compiles its data tests, so the manifest carries their SQL: the daily run builds the models
# with dbt and runs that SQL as one batch after them (`orchestration/dbt/data_tests.py`). Compiled without
# introspection and without reading the warehouse's schemas, the SQL depends on the project alone.
PREPARE_ARGS = ["compile", "--quiet", "--select", "resource_type:test", "--no-introspect", "--no-populate-cache"]

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, prepare_project_cli_args=PREPARE_ARGS
)
# Under `dagster dev` the manifest is re-parsed at load so model edits show up; `opmetrics run` prepares it too.
dbt_project.prepare_if_dev()


def manifest_is_current() -> bool:
    """True when the manifest exists, is newer than every file of the dbt project and has every data test's SQL."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    sources = (
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.is_file() and p.relative_to(DBT_PROJECT_DIR).parts[0] not in ("target", "logs", "dbt_packages")
    )
    if not all(p.stat().st_mtime <= built for p in sources):
        return False
    # `dbt parse` or `dbt run` by hand rewrites the manifest without the data tests' SQL the run needs
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return all(n.get("compiled_code") for n in nodes if n["resource_type"] == "test")


def ensure_manifest() -> Path:
    """Parse the dbt project unless its manifest is current (saves seconds a run).

    Call it before importing `orchestration.definitions`: the dbt assets read the manifest when they are defined,
    and a stale one names tests and models the build no longer has.
    """
    if not manifest_is_current():
        dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path
