"""The dbt seeds Python reads too: the operating models and the measures, kept in one place as data.

Config validation, the checks and the Great Expectations suites need the same lists the SQL joins on; they read the
seed files rather than keep copies of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


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
