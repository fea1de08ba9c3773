"""Asset metadata for the marts: row count and a small markdown preview, and Table 1 on the comparison mart.

dbt holds the warehouse's write lock while it runs, and DuckDB lets no other process open the file meanwhile, so the
marts' events are held back until dbt has exited, then given their metadata and yielded in their original order.
Every other dbt event (staging, intermediate, their checks) streams through at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetCheckResult, AssetKey, MetadataValue, Output, get_dagster_logger

from orchestration.serving.comparison import load_table_1, markdown_table, table_1_markdown
from orchestration.serving.publish import PUBLISHED_SCHEMAS, quote_ident
from orchestration.warehouse import connect

PREVIEW_ROWS = 5
COMPARISON_TABLE = "operating_model_comparison"


def _preview_value(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = "" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def table_metadata(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """`dagster/row_count` and a markdown preview of the first rows; Table 1 too for the comparison mart."""
    target = f"{quote_ident(schema)}.{quote_ident(table)}"
    count = con.execute(f"select count(*) from {target}").fetchone()[0]
    cursor = con.execute(f"select * from {target} limit {PREVIEW_ROWS}")
    headers = [d[0] for d in cursor.description]
    rows = [[_preview_value(v) for v in row] for row in cursor.fetchall()]
    metadata: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(count),
        "preview": MetadataValue.md(f"First {len(rows)} of {count} rows.\n\n" + markdown_table(headers, rows)),
    }
    if table == COMPARISON_TABLE:
        metadata["table_1"] = MetadataValue.md(table_1_markdown(load_table_1(con)))
    return metadata


def marts_metadata(warehouse: Path, keys: Iterable[AssetKey]) -> dict[AssetKey, dict[str, Any]]:
    """Metadata for each mart asset key (`marts/<table>`) that exists in the warehouse; others are left out."""
    result: dict[AssetKey, dict[str, Any]] = {}
    with connect(warehouse, read_only=True) as con:
        for key in keys:
            try:
                result[key] = table_metadata(con, key.path[0], key.path[-1])
            except duckdb.CatalogException:
                continue  # not built (dbt skipped it after a failure upstream): no metadata to add
    return result


def is_mart(key: AssetKey | None) -> bool:
    """Whether `key` is a published mart (`marts/<table>`)."""
    return key is not None and key.path[0] in PUBLISHED_SCHEMAS


def with_mart_metadata(
    events: Iterator[Any], warehouse: Path, key_of_output: Callable[[str], AssetKey | None]
) -> Iterator[Any]:
    """Pass dbt's Dagster events through, adding row count and preview metadata to the marts' outputs.

    The marts' outputs and their check results are held until `events` is exhausted (dbt has exited and released
    the warehouse), so a check result still follows the materialization it checks. If dbt fails, what it did
    build is still yielded, then the error is raised.
    """
    held: list[Any] = []
    error: BaseException | None = None
    try:
        for event in events:
            mart_output = isinstance(event, Output) and is_mart(key_of_output(event.output_name))
            mart_check = isinstance(event, AssetCheckResult) and is_mart(event.asset_key)
            if mart_output or mart_check:
                held.append(event)
            else:
                yield event
    except Exception as exc:  # dbt failed: the outputs it produced are still real materializations
        error = exc
    keys = [key for e in held if isinstance(e, Output) and (key := key_of_output(e.output_name)) is not None]
    extra: dict[AssetKey, dict[str, Any]] = {}
    if keys:
        try:
            extra = marts_metadata(warehouse, keys)
        except duckdb.Error as exc:  # metadata is a convenience: never fail a good build over it
            get_dagster_logger().warning("no row counts or previews for the marts: %s", exc)
    for event in held:
        key = key_of_output(event.output_name) if isinstance(event, Output) else None
        if key in extra:
            event = event.with_metadata({**event.metadata, **extra[key]})
        yield event
    if error is not None:
        raise error
