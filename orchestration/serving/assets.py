"""The serving assets: publish the snapshot after the marts pass their checks, then render the report from it."""

# No `from __future__ import annotations` here: Dagster inspects the `context` annotation at definition time.
from collections.abc import Iterable, Sequence

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DagsterEventType,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.resources import OpmetricsResource
from orchestration.serving.comparison import markdown_table
from orchestration.serving.paths import serving_paths
from orchestration.serving.publish import PUBLISHED_SCHEMAS, STORAGE_COMPATIBILITY_VERSION, publish_snapshot
from orchestration.serving.report_html import write_report
from orchestration.serving.schema_doc import load_mart_docs, table_docs

SNAPSHOT_KEY = AssetKey(["serving", "marts_snapshot"])
REPORT_KEY = AssetKey(["serving", "report_html"])


def mart_keys(assets: Iterable[AssetsDefinition]) -> list[AssetKey]:
    """The asset keys of the published schemas (`marts/...`) among `assets`, sorted."""
    return sorted({key for a in assets for key in a.keys if key.path[0] in PUBLISHED_SCHEMAS}, key=str)


def publish_blockers(
    marts: Sequence[AssetKey], materialized: Iterable[AssetKey], failed_checks: Iterable[str]
) -> list[str]:
    """Why a run must not publish: a mart it did not build (a partial run) or a check that failed with ERROR.

    Pure, so the rule is tested on its own; `run_blockers` feeds it from the run's event log.
    """
    built = set(materialized)
    reasons = [f"{key.to_user_string()} was not materialized in this run" for key in marts if key not in built]
    reasons += [f"check failed: {check}" for check in failed_checks]
    return reasons


def run_blockers(context: AssetExecutionContext, marts: Sequence[AssetKey]) -> list[str]:
    """`publish_blockers` for the current run, from what its event log holds so far.

    dbt's tests are evaluated inside the dbt step, so they are all in the log by now. A check in a step of its own
    (a Great Expectations suite, say) is ordered before the publish only if it is `blocking=True`: then Dagster
    runs it first and skips the publish when it fails. A non-blocking one may run after the publish.
    """
    records = context.instance.all_logs(
        context.run_id,
        of_type={DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION},
    )
    materialized: list[AssetKey] = []
    failed: list[str] = []
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None:
            materialized.append(event.asset_key)
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            # Any failed ERROR check in the run counts: a run with one is a failed run, whichever asset it guards.
            if (
                isinstance(evaluation, AssetCheckEvaluation)
                and not evaluation.passed
                and evaluation.severity == AssetCheckSeverity.ERROR
            ):
                failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return publish_blockers(marts, materialized, failed)


def build_serving_assets(marts: Sequence[AssetKey]) -> list[AssetsDefinition]:
    """The snapshot asset (downstream of every mart in `marts`) and the report asset (downstream of the snapshot)."""
    tables = [(key.path[0], key.path[-1]) for key in marts]

    @asset(
        key=SNAPSHOT_KEY,
        deps=list(marts),
        group_name="serving",
        kinds={"duckdb", "parquet"},
        description=(
            "Read-only snapshot of the marts for BI tools (`opmetrics.duckdb`, DuckDB 1.5+ readable) and one Parquet "
            "file per mart, published by copy and atomic rename after the marts and their checks pass. "
            "Beside the warehouse unless OPMETRICS_SNAPSHOT says otherwise."
        ),
    )
    def marts_snapshot(context: AssetExecutionContext, opmetrics: OpmetricsResource) -> MaterializeResult:
        blockers = run_blockers(context, marts)
        if blockers:
            # A failed or partial run never publishes: readers keep the last good snapshot.
            raise Failure(
                description="not publishing the snapshot: " + "; ".join(blockers),
                metadata={"blockers": MetadataValue.json(blockers)},
            )
        paths = serving_paths(opmetrics.warehouse_path)
        published = publish_snapshot(
            opmetrics.warehouse_path, paths.snapshot, tables, paths.parquet_dir, table_docs(load_mart_docs())
        )
        counts = sorted(published.row_counts.items())
        return MaterializeResult(
            metadata={
                "path": MetadataValue.path(str(published.snapshot)),
                "parquet_dir": MetadataValue.path(str(paths.parquet_dir)),
                "storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION,
                "size_bytes": MetadataValue.int(published.size_bytes),
                "tables": MetadataValue.md(markdown_table(["table", "rows"], counts)),
                "dagster/row_count": MetadataValue.int(sum(n for _, n in counts)),
            }
        )

    @asset(
        key=REPORT_KEY,
        deps=[SNAPSHOT_KEY],
        group_name="serving",
        kinds={"html", "plotly"},
        description=(
            "`report.html` beside the snapshot: Table 1, weekly trends, before/after charts of migrated services and "
            "services by distance from their availability target, in one file that opens offline."
        ),
    )
    def report_html(context: AssetExecutionContext, opmetrics: OpmetricsResource) -> MaterializeResult:
        paths = serving_paths(opmetrics.warehouse_path)
        summary = write_report(paths.snapshot, paths.report)
        context.log.info("report written to %s (%d charts)", summary.path, summary.charts)
        return MaterializeResult(
            metadata={
                "path": MetadataValue.path(str(summary.path)),
                "url": MetadataValue.url(summary.path.as_uri()),
                "charts": MetadataValue.int(summary.charts),
                "size_bytes": MetadataValue.int(summary.size_bytes),
            }
        )

    return [marts_snapshot, report_html]
