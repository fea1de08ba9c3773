"""Asset checks on the quarantine, the service catalog and the serving assets (plain SQL, no GX needed)."""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation at definition time.
import os
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from connectors.registry import CONNECTORS
from orchestration.resources import OpmetricsResource
from orchestration.seeds import operating_model_names
from orchestration.serving.assets import REPORT_KEY, SNAPSHOT_KEY
from orchestration.serving.paths import serving_paths
from orchestration.warehouse import connect

QUARANTINE_KEY = AssetKey(["quarantine", "quarantined_records"])
QUARANTINE_TABLE = "quarantine.quarantined_records"
# A few quarantined records are normal (a deployment of a repo not yet in the catalog): a warning. When more than
# this share of one raw table's rows is quarantined the source itself is broken: an error, and nothing publishes.
QUARANTINE_LIMIT_ENV = "OPMETRICS_QUARANTINE_MAX_SHARE"
DEFAULT_QUARANTINE_MAX_SHARE = 0.05
REQUIRED_SETTINGS = ("timezone", "window_days")


def quarantine_max_share() -> float:
    """The configured share (OPMETRICS_QUARANTINE_MAX_SHARE, default 0.05) above which quarantine is an ERROR."""
    return float(os.environ.get(QUARANTINE_LIMIT_ENV) or DEFAULT_QUARANTINE_MAX_SHARE)


def quarantine_outcome(
    counts: dict[tuple[str, str], int], table_rows: dict[str, int], limit: float
) -> tuple[bool, AssetCheckSeverity, dict[str, float]]:
    """(passed, severity, share per source table) of a quarantine. Pure, so the rule is tested on its own.

    Empty: passed. Non-empty within `limit` of every source table's rows: failed as a WARN (shown, not blocking).
    Over the limit for any table: failed as an ERROR.
    """
    per_table: dict[str, int] = {}
    for (table, _), n in counts.items():
        per_table[table] = per_table.get(table, 0) + n
    shares = {t: round(n / table_rows[t], 4) if table_rows.get(t) else 1.0 for t, n in per_table.items()}
    if not per_table:
        return True, AssetCheckSeverity.WARN, shares
    over = any(share > limit for share in shares.values())
    return False, AssetCheckSeverity.ERROR if over else AssetCheckSeverity.WARN, shares


@asset_check(
    asset=QUARANTINE_KEY,
    name="quarantine_share",
    blocking=True,
    description="Counts quarantined records per source table and reason. Any is a WARN; more than "
    f"{QUARANTINE_LIMIT_ENV} (default {DEFAULT_QUARANTINE_MAX_SHARE:.0%}) of one raw table's rows is an ERROR.",
)
def quarantine_share(context: AssetCheckExecutionContext, opmetrics: OpmetricsResource) -> AssetCheckResult:
    """Report the quarantine per reason; fail (ERROR) only when a source's quarantined share passes the limit."""
    with opmetrics.connect(read_only=True) as con:
        rows = con.execute(
            f"select source_table, reason, count(*) from {QUARANTINE_TABLE} group by all order by all"
        ).fetchall()
        tables = sorted({t for t, _, _ in rows})
        table_rows = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
    counts = {(t, r): n for t, r, n in rows}
    limit = quarantine_max_share()
    passed, severity, shares = quarantine_outcome(counts, table_rows, limit)
    by_reason: dict[str, int] = {}
    for (_, reason), n in counts.items():
        by_reason[reason] = by_reason.get(reason, 0) + n
    return AssetCheckResult(
        passed=passed,
        severity=severity,
        metadata={
            "quarantined": MetadataValue.int(sum(counts.values())),
            "by_reason": MetadataValue.json(by_reason),
            "by_table_and_reason": MetadataValue.json({f"{t}:{r}": n for (t, r), n in counts.items()}),
            "share_by_table": MetadataValue.json(shares),
            "max_share": MetadataValue.float(limit),
        },
    )


def _catalog_check(table: str, name: str, description: str, sql: str) -> AssetChecksDefinition:
    """A blocking check on `raw_catalog.<table>`: `sql` returns the offending rows (as one text column)."""

    @asset_check(asset=AssetKey(["raw_catalog", table]), name=name, blocking=True, description=description)
    def _check(context: AssetCheckExecutionContext, opmetrics: OpmetricsResource) -> AssetCheckResult:
        with opmetrics.connect(read_only=True) as con:
            offending = [r[0] for r in con.execute(sql).fetchall()]
            total = con.execute(f"select count(*) from raw_catalog.{table}").fetchone()[0]
        return AssetCheckResult(
            passed=not offending and total > 0,
            metadata={"rows": MetadataValue.int(total), "offending": MetadataValue.json(offending[:50])},
        )

    return _check


_models = ", ".join(f"'{m}'" for m in operating_model_names())
_settings = ", ".join(f"('{s}')" for s in REQUIRED_SETTINGS)
_sources = ", ".join(f"'{s}'" for s in CONNECTORS)
catalog_checks = [
    _catalog_check(
        "services",
        "every_service_has_an_operating_model",
        "Every catalog service has at least one operating-model period (else its events belong to no model).",
        "select s.service from raw_catalog.services s left join raw_catalog.operating_models m using (service) "
        "where m.service is null",
    ),
    _catalog_check(
        "operating_models",
        "known_service_and_model",
        "Every operating-model period names a catalog service and a known operating model.",
        "select m.service || ':' || m.operating_model from raw_catalog.operating_models m "
        "left join raw_catalog.services s using (service) "
        f"where s.service is null or m.operating_model not in ({_models})",
    ),
    _catalog_check(
        "settings",
        "required_settings_present",
        "The settings the models read (timezone, window) are all present.",
        f"select r.key from (values {_settings}) r(key) left join raw_catalog.settings s using (key) "
        "where s.key is null",
    ),
    _catalog_check(
        "service_mappings",
        "known_service_and_source",
        "Every mapping names a catalog service and a registered source, with a key and a value.",
        "select m.service || ':' || m.source || '.' || m.key from raw_catalog.service_mappings m "
        "left join raw_catalog.services s using (service) "
        f"where s.service is null or m.source not in ({_sources}) or m.value = ''",
    ),
    _catalog_check(
        "source_settings",
        "known_source",
        "Every setting belongs to a registered source.",
        f"select source || '.' || key from raw_catalog.source_settings where source not in ({_sources})",
    ),
    _catalog_check(
        "teams",
        "owning_teams_declared",
        "When the catalog declares teams, every service's owning team is one of them (else who gets paged is unknown).",
        "select s.service || ':' || s.team from raw_catalog.services s left join raw_catalog.teams t using (team) "
        "where t.team is null and exists (select 1 from raw_catalog.teams)",
    ),
    _catalog_check(
        "team_pager_ids",
        "known_team_and_source",
        "Every pager team names a catalog team and a registered source, and belongs to one team only.",
        "select p.team || ':' || p.source || '.' || p.value from raw_catalog.team_pager_ids p "
        "left join raw_catalog.teams t using (team) "
        f"where t.team is null or p.source not in ({_sources}) "
        "or (p.source, p.value) in (select (source, value) from raw_catalog.team_pager_ids "
        "group by source, value having count(distinct team) > 1)",
    ),
    _catalog_check(
        "streams",
        "keyed_streams_of_registered_sources",
        "Every stream belongs to a registered source and declares a primary key (quarantine relies on both).",
        "select source || '.' || stream from raw_catalog.streams "
        f"where source not in ({_sources}) or len(primary_key) = 0",
    ),
]


def _file_check_result(path: Path, what: str) -> AssetCheckResult:
    exists = path.exists() and path.stat().st_size > 0
    return AssetCheckResult(
        passed=exists,
        severity=AssetCheckSeverity.WARN,
        metadata={"path": MetadataValue.path(str(path)), "size_bytes": path.stat().st_size if exists else 0},
        description=f"{what} {'is' if exists else 'is NOT'} in place",
    )


@asset_check(
    asset=SNAPSHOT_KEY,
    name="snapshot_readable",
    description="The published snapshot opens read-only and holds every mart with at least one row.",
)
def snapshot_readable(context: AssetCheckExecutionContext, opmetrics: OpmetricsResource) -> AssetCheckResult:
    """Open the published snapshot as a BI tool would and count each table's rows."""
    path = serving_paths(opmetrics.warehouse_path).snapshot
    if not path.exists():
        return _file_check_result(path, "the snapshot")
    with connect(path, read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}
    empty = sorted(t for t, n in counts.items() if n == 0)
    return AssetCheckResult(
        passed=bool(counts) and not empty,
        severity=AssetCheckSeverity.WARN,
        metadata={"tables": MetadataValue.int(len(counts)), "empty_tables": MetadataValue.json(empty)},
    )


@asset_check(asset=REPORT_KEY, name="report_written", description="report.html exists and is not empty.")
def report_written(context: AssetCheckExecutionContext, opmetrics: OpmetricsResource) -> AssetCheckResult:
    """The report file is in place beside the snapshot."""
    return _file_check_result(serving_paths(opmetrics.warehouse_path).report, "the report")


def quality_checks() -> list[AssetChecksDefinition]:
    """Every check of this module, plus the GX suites of the marts."""
    from orchestration.quality.gx_checks import gx_checks

    return [quarantine_share, *catalog_checks, snapshot_readable, report_written, *gx_checks()]
