"""The Great Expectations suites of the marts, declared as plain data so tests can read them without GX.

Only what SQL tests express badly lives here: value ranges, coverage of the comparison, row-count drift.
Not-null, uniqueness, accepted values and relationships are dbt tests (`dbt_project/models/marts/*.yml`);
`tests/quality/test_single_assertion.py` fails if a property is asserted in both places.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestration.seeds import measure_names, operating_model_names

# A weekly mart grows by one row per service and week; a run that loses or gains more than this share of the
# previous run's rows rebuilt from broken inputs (a source that went empty, a catalog that lost its services).
MAX_ROW_COUNT_DRIFT = 0.5

MEASURES = measure_names()  # the seeds: every measure for every operating model
OPERATING_MODELS = operating_model_names()


@dataclass(frozen=True)
class Range:
    """`column` lies in [low, high] (None: unbounded); nulls are not judged (dbt asserts not-null)."""

    column: str
    low: float | None = 0.0
    high: float | None = None


@dataclass(frozen=True)
class MartSuite:
    """What one mart is validated for."""

    table: str  # schema.name in the warehouse
    ranges: tuple[Range, ...] = ()
    drift: bool = False  # row count compared with the previous run's
    coverage: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> values that must all appear
    row_count: int | None = None  # exact row count (the comparison: every measure x every model)
    derived: tuple[str, ...] = ()  # columns validated that `gx_checks.prepare` derives, not the mart's own
    derived_from: tuple[str, ...] = ()  # the mart's columns it derives them from

    @property
    def columns(self) -> tuple[str, ...]:
        """The mart's columns the suite reads: those its ranges and coverage name, and those its derived columns
        come from. Only these are read: a weekly mart's other columns cost the read and GX's work, nothing else."""
        named = [r.column for r in self.ranges if r.column not in self.derived]
        return tuple(dict.fromkeys([*named, *self.coverage, *self.derived_from]))

    @property
    def asset_path(self) -> list[str]:
        """The Dagster asset key path of the mart (`marts/<name>`, as the dbt translator keys it)."""
        return self.table.split(".")


PERCENT = (0.0, 100.0)  # every rate of the marts is in percent (change_failure_rate, availability, reviewed share)

SUITES: tuple[MartSuite, ...] = (
    MartSuite(
        "marts.service_reliability",
        ranges=(
            Range("availability_pct", *PERCENT),
            Range("downtime_minutes"),
            Range("period_minutes"),
            Range("tolerable_downtime_minutes"),
            Range("median_time_to_restore_minutes"),
            Range("p85_time_to_restore_minutes"),
            Range("incidents"),
            Range("impacting_incidents"),
        ),
        drift=True,
    ),
    MartSuite(
        "marts.deployment_throughput",
        ranges=(
            Range("change_failure_rate", *PERCENT),
            Range("deployments"),
            Range("failed_deployments"),
            Range("n_changes"),
            # Non-positive lead times are counted apart (n_non_positive_*) and left out of the medians.
            Range("median_deployment_lead_time_hours"),
            Range("p85_deployment_lead_time_hours"),
            Range("median_lead_time_for_changes_hours"),
            Range("p85_lead_time_for_changes_hours"),
        ),
        drift=True,
    ),
    MartSuite(
        "marts.learning_culture",
        ranges=(
            Range("incidents_reviewed_pct", *PERCENT),
            Range("median_time_to_generate_insights_hours"),
            Range("median_time_to_implement_actions_days"),
            Range("open_actions"),
            Range("actions_created"),
        ),
        drift=True,
    ),
    MartSuite(
        "marts.operating_model_comparison",
        # The long table is split by unit before validation: percent values in 0..100, every other value >= 0.
        ranges=(Range("percent_value", *PERCENT), Range("non_percent_value")),
        coverage={"measure": MEASURES, "operating_model": OPERATING_MODELS},
        row_count=len(MEASURES) * len(OPERATING_MODELS),
        derived=("percent_value", "non_percent_value"),
        derived_from=("unit", "value"),
    ),
)
