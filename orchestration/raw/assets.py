"""One Dagster asset per stream, one multi-asset per source: a source's streams are read in one pass."""

import uuid
from collections.abc import Iterator
from datetime import date

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    MaterializeResult,
    multi_asset,
)
from duckdb import DuckDBPyConnection
from pydantic import Field

from connectors.base import Connector
from connectors.registry import CONNECTORS
from orchestration.raw.checks import evaluate_raw_checks, raw_check_specs, skipped_checks
from orchestration.raw.prefetch import daily_syncs
from orchestration.raw.reader import reader_processes
from orchestration.raw.sync import SyncOptions, sync_source
from orchestration.resources import OpmetricsResource, as_of_date
from orchestration.warehouse import ensure_raw_table


class RawSyncConfig(Config):
    """Run config of every raw asset: `full_refresh` ignores cursors, `since` backfills from a date."""

    full_refresh: bool = False
    since: str | None = Field(default=None, description="YYYY-MM-DD: re-read from this date")


def raw_asset_key(source: str, stream: str) -> AssetKey:
    return AssetKey([f"raw_{source}", stream])


def daily_syncs_of_run(context: AssetExecutionContext, opmetrics: OpmetricsResource) -> dict[str, Connector]:
    """The configured sources whose sync step this run holds with neither `full_refresh` nor `since`, in the
    order of their steps (by name)."""
    steps = context.run.step_keys_to_execute or list(context.job_def.graph.node_dict)
    return daily_syncs(opmetrics.catalog, context.run.run_config.get("ops", {}), steps)


def start_early_reads(context: AssetExecutionContext, opmetrics: OpmetricsResource, con: DuckDBPyConnection) -> None:
    """At the run's first sync step, open the early reads of the run's daily syncs (`orchestration/raw/prefetch.py`).

    Finding them can fail only where the steps would fail on their own (the catalog): that costs the speed-up, and
    each source's step then reads, and fails, on its own.
    """
    prefetch = opmetrics.prefetch
    if prefetch is None or prefetch.started:
        return
    try:
        syncs = daily_syncs_of_run(context, opmetrics)
    except Exception as exc:
        context.log.warning("this run's sources are not read ahead: %s", exc)
        syncs = {}
    prefetch.start(con, syncs)


def build_source_assets(connector_cls: type[Connector], checks: bool = True) -> AssetsDefinition:
    """The multi-asset that syncs every stream of one connector into `raw_<source>.<stream>`.

    `checks=False` leaves out its asset checks: only to measure what they cost (`benchmarks/checks_cost.py`).
    """
    source = connector_cls.name
    specs = [
        AssetSpec(
            raw_asset_key(source, stream.name),
            description=f"{source} `{stream.path}`: one row per record, keyed by {'+'.join(stream.primary_key)}.",
            group_name="raw",
            kinds={"duckdb", "python"},
            metadata={"primary_key": list(stream.primary_key), "cursor_field": stream.cursor_field or ""},
        )
        for stream in connector_cls.streams
    ]

    check_specs = (
        [spec for stream in connector_cls.streams for spec in raw_check_specs(raw_asset_key(source, stream.name))]
        if checks
        else []
    )

    @multi_asset(name=f"sync_{source}", specs=specs, check_specs=check_specs)
    def _sync(context: AssetExecutionContext, config: RawSyncConfig, opmetrics: OpmetricsResource) -> Iterator:
        sync_id = f"{context.run_id}:{source}:{uuid.uuid4().hex[:8]}"
        options = SyncOptions(
            full_refresh=config.full_refresh,
            since=date.fromisoformat(config.since) if config.since else None,
            reader_processes=reader_processes(),
        )
        with opmetrics.connect() as con:
            early = None
            if opmetrics.prefetch is not None:
                start_early_reads(context, opmetrics, con)
                early = opmetrics.prefetch.take(source, con, options)
            connector, started = early if early else (opmetrics.connector(source), None)
            if connector is None:
                context.log.info("source %s is not configured; its raw tables are left as they are", source)
                merged = {}
                for stream in connector_cls.streams:
                    ensure_raw_table(con, source, stream.name)
            else:
                merged = sync_source(con, connector, options, sync_id, started)
            for stream in connector_cls.streams:
                key = raw_asset_key(source, stream.name)
                total = con.execute(f"select count(*) from raw_{source}.{stream.name}").fetchone()[0]
                if not check_specs:
                    results = []
                elif connector is None:
                    results = skipped_checks(key, f"source {source} is not configured")
                else:
                    limits = connector_cls.check_limits(stream, connector.settings)
                    results = evaluate_raw_checks(con, source, stream, key, as_of_date(), limits)
                yield MaterializeResult(
                    asset_key=key,
                    metadata={
                        "records_merged": merged.get(stream.name, 0),
                        "dagster/row_count": total,
                        "requests": connector.client.requests_made if connector else 0,
                    },
                    check_results=results,
                )

    return _sync


raw_assets = [build_source_assets(cls) for cls in CONNECTORS.values()]
