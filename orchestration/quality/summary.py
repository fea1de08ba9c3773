"""The end-of-run summary of `opmetrics run`: every check's outcome and the row counts of each layer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from orchestration.warehouse import connect

LAYERS = {"raw": "raw\\_%", "staging": "staging", "marts": "marts", "quarantine": "quarantine"}


@dataclass(frozen=True)
class CheckOutcome:
    """One asset check's result in a run."""

    name: str  # asset/key:check_name
    passed: bool
    severity: str  # ERROR or WARN
    blocking: bool

    @property
    def label(self) -> str:
        """PASS, WARN (failed, non-blocking severity) or FAIL."""
        if self.passed:
            return "PASS"
        return "FAIL" if self.severity == "ERROR" else "WARN"


def check_outcomes(evaluations: Iterable[object], blocking: set[str]) -> list[CheckOutcome]:
    """Outcomes from a run's `AssetCheckEvaluation`s; `blocking` names the checks declared blocking."""
    outcomes = []
    for e in evaluations:
        name = f"{e.asset_key.to_user_string()}:{e.check_name}"  # type: ignore[attr-defined]
        outcomes.append(CheckOutcome(name, e.passed, e.severity.value, name in blocking))  # type: ignore[attr-defined]
    return sorted(outcomes, key=lambda o: o.name)


def layer_row_counts(warehouse: Path) -> dict[str, int]:
    """Rows stored per layer (raw / staging / marts / quarantine) in the warehouse, read-only.

    Tables only: counting a view runs its query (staging's views join and filter millions of rows at 1,000
    services, which took the CLI's process to ~970 MiB after the run), while a table's count is in its metadata.
    """
    if not warehouse.exists():
        return {}
    counts: dict[str, int] = {}
    with connect(warehouse, read_only=True) as con:
        for layer, pattern in LAYERS.items():
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema like ? escape '\\' and table_schema <> 'raw_state' and table_type = 'BASE TABLE'",
                [pattern],
            ).fetchall()
            counts[layer] = sum(con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables)
    return counts


def format_summary(outcomes: list[CheckOutcome], counts: dict[str, int]) -> str:
    """A plain-text summary: failures and warnings by name, the count of passes, rows per layer."""
    lines = ["checks:"]
    by_label = {label: [o for o in outcomes if o.label == label] for label in ("FAIL", "WARN", "PASS")}
    for label in ("FAIL", "WARN"):
        for o in by_label[label]:
            lines.append(f"  {label}  {o.name}{' (blocking)' if o.blocking and label == 'FAIL' else ''}")
    lines.append(
        f"  {len(by_label['PASS'])} passed, {len(by_label['WARN'])} warned, {len(by_label['FAIL'])} failed "
        f"of {len(outcomes)}"
    )
    lines.append("rows stored: " + ", ".join(f"{layer} {counts.get(layer, 0):,}" for layer in LAYERS))
    return "\n".join(lines)


def failed_blocking(outcomes: list[CheckOutcome]) -> list[str]:
    """Names of the blocking checks that failed with ERROR: the run must exit non-zero."""
    return [o.name for o in outcomes if o.label == "FAIL" and o.blocking]
