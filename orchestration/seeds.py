"""What the dbt project declares that Python reads too: the operating models and the measures (seeds), and which
source feeds which event kind (dbt_project.yml's var `event_sources`), kept in one place as data.

Config validation, the checks and the Great Expectations suites need the same lists the SQL joins on; they read the
dbt project's files rather than keep copies of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


@dataclass(frozen=True)
class OperatingModelSeed:
    """One row of `seeds/operating_models.csv`."""

    operating_model: str
    label: str
    display_order: int


@dataclass(frozen=True)
class MeasureSeed:
    """One row of `seeds/measures.csv`."""

    measure: str
    label: str
    unit: str
    display_order: int


def _rows(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="") as file:
        return list(csv.DictReader(file))


@cache
def operating_models() -> tuple[OperatingModelSeed, ...]:
    """The operating models, in display order."""
    rows = [
        OperatingModelSeed(r["operating_model"], r["label"], int(r["display_order"])) for r in _rows("operating_models")
    ]
    return tuple(sorted(rows, key=lambda r: r.display_order))


@cache
def measures() -> tuple[MeasureSeed, ...]:
    """The measures of the comparison, in display order."""
    rows = [MeasureSeed(r["measure"], r["label"], r["unit"], int(r["display_order"])) for r in _rows("measures")]
    return tuple(sorted(rows, key=lambda r: r.display_order))


def operating_model_names() -> tuple[str, ...]:
    """The operating models' identifiers, in display order."""
    return tuple(m.operating_model for m in operating_models())


def measure_names() -> tuple[str, ...]:
    """The measures' identifiers, in display order."""
    return tuple(m.measure for m in measures())


@cache
def event_sources() -> dict[str, dict[str, str]]:
    """{source: {event kind: staging model}} as dbt_project.yml declares it."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return project["vars"]["event_sources"]


def sources_feeding(kind: str) -> tuple[str, ...]:
    """The sources whose staging feeds event kind `kind` (e.g. the deployment sources)."""
    return tuple(sorted(source for source, kinds in event_sources().items() if kind in kinds))
