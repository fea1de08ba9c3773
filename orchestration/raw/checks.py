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


CHECKED_TABLE = "raw_state.fields_checked"


def _checked_through(con: duckdb.DuckDBPyConnection, source: str, stream: str, required: list[str]) -> datetime | None:
    """The `_loaded_at` up to which every row passed the required-fields check of these same fields, if any.

    A row's content is never changed in place (the merge deletes a replaced version and appends the new one with a
    new `_loaded_at`; a version delivered again unchanged keeps its row), so rows loaded up to that time still
    passed. Other fields (a connector that now requires more) are checked on every row again.
    """
    con.execute(
        f"create table if not exists {CHECKED_TABLE} (source varchar, stream varchar, required_fields varchar[],"
        " loaded_through timestamptz, checked_at timestamptz, primary key (source, stream))"
    )
    row = con.execute(
        f"select required_fields, loaded_through from {CHECKED_TABLE} where source = ? and stream = ?",
        [source, stream],
    ).fetchone()
    return row[1] if row and list(row[0]) == required else None


def _remember_checked(
    con: duckdb.DuckDBPyConnection, source: str, stream: str, required: list[str], loaded_through: datetime
) -> None:
    con.execute(
        f"insert or replace into {CHECKED_TABLE} values (?, ?, ?, ?, ?)",
        [source, stream, required, loaded_through, datetime.now(UTC)],
    )


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

    # A record without its identifier is quarantined downstream, not a broken load: the key is not required here.
    required = [f for f in stream.required_fields if f not in stream.primary_key]
    # Rows a passing check has seen are not parsed again, only those loaded since: a daily run reads a day of JSON.
    since = _checked_through(con, source, stream.name, required)
    newest_load = con.execute(f"select max(_loaded_at) from {table}").fetchone()[0]
    where, params = ("where _loaded_at > ?", [since]) if since else ("", [])
    counts = con.execute(
        "select count(*)"
        + "".join(
            f", count(*) filter (where v[{i}] is null or json_type(v[{i}]) = 'NULL')"
            for i in range(1, len(required) + 1)
        )
        + f" from (select json_extract(payload, ?::varchar[]) as v from {table} {where})",
        [[_json_path(f) for f in required], *params],
    ).fetchone()
    missing = dict(zip(required, counts[1:], strict=True))
    fields_passed = not any(missing.values())
    metadata: dict[str, object] = {f"missing_{f}": n for f, n in missing.items()} or {
        "required_fields": "none declared"
    }
    results.append(
        AssetCheckResult(
            asset_key=key,
            check_name="required_fields_present",
            passed=fields_passed,
            metadata={**metadata, "rows_read": counts[0]},
        )
    )
    if fields_passed and newest_load is not None:
        _remember_checked(con, source, stream.name, required, newest_load)

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
