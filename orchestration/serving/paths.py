"""Where the published artefacts live: beside the warehouse by default, or where OPMETRICS_SNAPSHOT says."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SNAPSHOT_ENV = "OPMETRICS_SNAPSHOT"
# Not `marts.duckdb`: DuckDB names the database after the file, and a database named like the schema inside it makes
# `marts.<table>` ambiguous for every reader (see publish.check_snapshot_name). BI tools show `opmetrics.marts.<table>`.
DEFAULT_SNAPSHOT_NAME = "opmetrics.duckdb"


@dataclass(frozen=True)
class ServingPaths:
    """The snapshot file, the folder of its Parquet export and the HTML report, all in one folder."""

    snapshot: Path

    @property
    def parquet_dir(self) -> Path:
        """`parquet/` beside the snapshot, holding `marts/<table>.parquet`."""
        return self.snapshot.parent / "parquet"

    @property
    def report(self) -> Path:
        """`report.html` beside the snapshot."""
        return self.snapshot.parent / "report.html"


def serving_paths(warehouse: Path) -> ServingPaths:
    """`opmetrics.duckdb` beside the warehouse, unless OPMETRICS_SNAPSHOT names the snapshot file.

    A relative OPMETRICS_SNAPSHOT is taken from the warehouse's folder, so the pair moves together.
    """
    override = os.environ.get(SNAPSHOT_ENV, "").strip()
    if not override:
        return ServingPaths(warehouse.parent / DEFAULT_SNAPSHOT_NAME)
    path = Path(override).expanduser()
    return ServingPaths(path if path.is_absolute() else (warehouse.parent / path).resolve())
