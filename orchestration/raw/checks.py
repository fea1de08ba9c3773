"""Blocking checks on every raw table, derived from its stream's declaration, so a new connector gets them free.

Each property is asserted here and nowhere else: the `_pk` is present and unique; every record carries the
stream's required (non-key) fields; the cursor timestamp parses; the newest record is fresh; the table did not
shrink. Row-level problems that a good load can still contain (a null identifier, one odd timestamp, an unknown
service) are quarantined by dbt instead; a check fails only when the load itself is broken.
"""

from datetime import UTC, date, datetime, time

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey

from connectors.base import CheckLimits, Stream

CHECKS = {
    "primary_key_unique": "`_pk` is present on every row and unique.",
    "required_fields_present": "Every record carries the stream's required fields (its key aside).",
    "timestamps_parse": "The cursor field parses to a timestamp (allowing a small share of odd rows).",
    "fresh": "The newest record is recent enough as of OPMETRICS_AS_OF.",
    "row_count": "The table did not shrink sharply since the previous run (an error); it is not empty (a warning).",
}


def raw_check_specs(key: AssetKey) -> list[AssetCheckSpec]:
    """The checks of one raw asset. Blocking: a failure (severity ERROR) stops everything downstream."""
    return [AssetCheckSpec(name, asset=key, description=text, blocking=True) for name, text in CHECKS.items()]


def skipped_checks(key: AssetKey, reason: str) -> list[AssetCheckResult]:
    """Results for a stream whose source is not configured: nothing was loaded, so nothing can be wrong."""
    return [AssetCheckResult(asset_key=key, check_name=n, passed=True, metadata={"skipped": reason}) for n in CHECKS]


def _json_path(dotted: str) -> str:
    return "$." + dotted


def evaluate_raw_checks(
    con: duckdb.DuckDBPyConnection, source: str, stream: Stream, key: AssetKey, as_of: date, limits: CheckLimits
) -> list[AssetCheckResult]:
    """Run every check of one raw table against `limits` (`Connector.check_limits`); also records its row count
    for the next run's comparison."""
    table = f"raw_{source}.{stream.name}"
    total, null_keys, distinct = con.execute(
        f"select count(*), count(*) filter (where _pk is null or _pk = ''), count(distinct _pk) from {table}"
    ).fetchone()
    results = [
        AssetCheckResult(
            asset_key=key,
            check_name="primary_key_unique",
            passed=null_keys == 0 and distinct == total,
            metadata={"rows": total, "null_keys": null_keys, "duplicate_keys": total - distinct},
        )
    ]

    key_fields = set(stream.primary_key)
    missing = {}
    for field in stream.required_fields:
        if field in key_fields:
            continue  # a record without its identifier is quarantined downstream, not a broken load
        missing[field] = con.execute(
            f"select count(*) from {table} where json_extract(payload, ?) is null "
            "or json_type(json_extract(payload, ?)) = 'NULL'",
            [_json_path(field), _json_path(field)],
        ).fetchone()[0]
    results.append(
        AssetCheckResult(
            asset_key=key,
            check_name="required_fields_present",
            passed=not any(missing.values()),
            metadata={f"missing_{f}": n for f, n in missing.items()} or {"required_fields": "none declared"},
        )
    )

    unparseable = 0
    if stream.cursor_field:
        unparseable = con.execute(
            f"select count(*) from {table} where _cursor is null and json_extract_string(payload, ?) is not null",
            [_json_path(stream.cursor_field)],
        ).fetchone()[0]
    share = unparseable / total if total else 0.0
    too_many = share > limits.max_unparseable_share
    results.append(
        AssetCheckResult(
            asset_key=key,
            check_name="timestamps_parse",
            passed=not too_many,
            severity=AssetCheckSeverity.ERROR if too_many else AssetCheckSeverity.WARN,
            metadata={"unparseable": unparseable, "share": round(share, 4), "limit": limits.max_unparseable_share},
        )
    )

    newest = con.execute(f"select max(_cursor) from {table}").fetchone()[0]
    limit_days = limits.freshness_days
    horizon = datetime.combine(as_of, time(23, 59, 59), UTC)
    age_days = (horizon - newest).total_seconds() / 86400 if newest else None
    results.append(
        AssetCheckResult(
            asset_key=key,
            check_name="fresh",
            # A quiet source is worth a warning, not a stopped pipeline: freshness never blocks. A snapshot stream
            # (no cursor, e.g. PagerDuty's users) is read whole every run: it has no age to judge.
            passed=not stream.cursor_field or (age_days is not None and age_days <= limit_days),
            severity=AssetCheckSeverity.WARN,
            metadata={
                "newest": str(newest),
                "age_days": round(age_days, 1) if age_days else -1,
                "limit_days": limit_days,
            },
        )
    )

    con.execute(
        "create table if not exists raw_state.row_counts ("
        "source varchar, stream varchar, rows bigint, measured_at timestamptz, primary key (source, stream))"
    )
    previous = con.execute(
        "select rows from raw_state.row_counts where source = ? and stream = ?", [source, stream.name]
    ).fetchone()
    previous_rows = previous[0] if previous else None
    dropped = (
        previous_rows is not None and previous_rows > 0 and total < previous_rows * (1 - limits.max_row_drop_share)
    )
    # An empty table may be right (a repository that deploys from CI records no GitHub Deployments): a warning. A
    # table that lost most of the rows it had was truncated or replaced: that load is broken.
    passed = total > 0 and not dropped
    results.append(
        AssetCheckResult(
            asset_key=key,
            check_name="row_count",
            passed=passed,
            severity=AssetCheckSeverity.ERROR if dropped else AssetCheckSeverity.WARN,
            metadata={"rows": total, "previous_rows": previous_rows if previous_rows is not None else -1},
        )
    )
    if passed:
        con.execute(
            "insert or replace into raw_state.row_counts values (?, ?, ?, ?)",
            [source, stream.name, total, datetime.now(UTC)],
        )
    return results
