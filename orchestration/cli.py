"""`opmetrics`: validate a config, run the daily job, print the comparison, serve or demo the sample organisation."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from connectors.registry import CONNECTORS
from orchestration.config import ConfigError, load_catalog
from orchestration.fast_exit import skip_final_collection

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"


def _dagster_home() -> Path:
    """DAGSTER_HOME, defaulting to .dagster_home/ beside the code with a link to the repository's dagster.yaml.

    A dagster.yaml already there is kept (a file of the user's, or a link to a checkout that still exists).
    """
    home = Path(os.environ.get("DAGSTER_HOME") or ROOT / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if instance_yaml.is_symlink() and not instance_yaml.exists():
        # The checkout that made the link was moved or deleted (the link is absolute): point it at this one.
        instance_yaml.unlink()
    if not instance_yaml.exists():
        instance_yaml.symlink_to(ROOT / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@click.group()
def main() -> None:
    """opmetrics: delivery, reliability and learning metrics by operating model."""
    skip_final_collection()


@main.command("validate-config")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def validate_config(path: str | None) -> None:
    """Check a catalog file (default: OPMETRICS_CONFIG) without running anything."""
    try:
        catalog, file = load_catalog(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    sources = ", ".join(sorted(catalog.sources)) or "none"
    click.echo(f"{file}: OK ({len(catalog.services)} services; sources: {sources})")


def raw_run_config(full_refresh: bool, since: date | None, sources: Sequence[str] = ()) -> dict[str, Any]:
    """Run config of the raw sync ops: `full_refresh` and `since` apply to `sources` (none named: every source);
    the other sources sync incrementally as on any day."""
    chosen = set(sources) or set(CONNECTORS)
    return {
        "ops": {
            f"sync_{name}": {
                "config": {
                    "full_refresh": full_refresh and name in chosen,
                    "since": since.isoformat() if since and name in chosen else None,
                }
            }
            for name in CONNECTORS
        }
    }


def run_daily(
    full_refresh: bool = False, since: date | None = None, sources: Sequence[str] = (), checks: bool = True
) -> bool:
    """Execute `daily_refresh` in this process, recorded in the Dagster instance; True when it succeeded.

    `checks=False` runs the same assets without a single asset check: only to measure what the checks cost.
    """
    try:
        catalog, file = load_catalog()  # fail before any work on a bad config
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    _dagster_home()
    from orchestration.raw.prefetch import close_reads_before_run, read_before_run

    warehouse = catalog.warehouse_path(file.parent)
    run_config = raw_run_config(full_refresh, since, sources)
    # The APIs answer while this process loads Dagster, the dbt manifest and the definitions (seconds).
    try:
        read_before_run(file, catalog, warehouse, run_config["ops"])
    except ValueError as exc:  # a malformed OPMETRICS_SOURCES_AHEAD or OPMETRICS_READER_PROCESSES
        raise click.ClickException(str(exc)) from None
    try:
        from dagster import DagsterInstance

        from orchestration.dbt.project import ensure_manifest

        # dbt's profile reads the warehouse from the environment; parse with the value the build will see, so the
        # build re-uses the parse (dbt re-parses everything when its profile changed).
        os.environ["OPMETRICS_WAREHOUSE"] = os.fspath(warehouse)
        ensure_manifest()
        from orchestration.definitions import daily_refresh_job, defs

        job = daily_refresh_job(checks)
        graph = defs.resolve_asset_graph()
        with DagsterInstance.get() as instance:
            result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
    finally:
        close_reads_before_run()
    from orchestration.quality.summary import check_outcomes, failed_blocking, format_summary, layer_row_counts

    blocking = {
        f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys if graph.get_check_spec(k).blocking
    }
    outcomes = check_outcomes(result.get_asset_check_evaluations(), blocking)
    click.echo(format_summary(outcomes, layer_row_counts(catalog.warehouse_path(file.parent))))
    failed_checks = failed_blocking(outcomes)
    if failed_checks:
        click.echo(f"blocking checks failed: {', '.join(failed_checks)}", err=True)
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        click.echo(f"daily_refresh failed (run {result.run_id}); failed steps: {', '.join(failed)}", err=True)
    return result.success and not failed_checks


@main.command()
@click.option("--full-refresh", is_flag=True, help="Ignore stored cursors and re-read every source's history.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Backfill: re-read every source from this date.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Choice(sorted(CONNECTORS)),
    help="Apply --full-refresh / --since to this source only (repeatable); the others sync incrementally.",
)
def run(full_refresh: bool, since: datetime | None, sources: tuple[str, ...]) -> None:
    """Run the daily job against the configured sources (OPMETRICS_CONFIG)."""
    if sources and not (full_refresh or since):
        raise click.UsageError("--source selects what --full-refresh or --since applies to; give one of them")
    started = time.monotonic()
    ok = run_daily(full_refresh, since.date() if since else None, sources)
    click.echo(f"daily_refresh {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s")
    if not ok:
        sys.exit(1)


@main.command()
@click.option("--html", "as_html", is_flag=True, help="Write report.html (charts, opens offline) instead of printing.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Where --html writes the report.")
def report(as_html: bool, output: Path | None) -> None:
    """Print the operating-model comparison (the playbook's Table 1) from the marts, or write it as HTML."""
    from orchestration.report import comparison_table
    from orchestration.serving.paths import serving_paths

    try:
        catalog, file = load_catalog(resolve_secrets=False)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    warehouse = catalog.warehouse_path(file.parent)
    # The published snapshot when there is one: reading it never waits for a run that is writing the warehouse.
    snapshot = serving_paths(warehouse).snapshot
    source = snapshot if snapshot.exists() else warehouse
    if as_html:
        from orchestration.serving.report_html import write_report

        summary = write_report(source, output or serving_paths(warehouse).report)
        click.echo(f"report: {summary.path} ({summary.charts} charts)")
        return
    click.echo(comparison_table(source))


@main.group()
def sample() -> None:
    """The built-in sample organisation, served on loopback in the real APIs' shapes."""


_size = [
    click.option("--services", default=20, show_default=True, help="Number of services."),
    click.option("--days", default=365, show_default=True, help="Days of history."),
    click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same organisation)."),
    click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day of history (default: today, UTC)."),
]


def _with_size(fn):
    for option in reversed(_size):
        fn = option(fn)
    return fn


@contextmanager
def serve_sample(
    services: int,
    days: int,
    seed: int,
    end: date,
    port: int = 0,
    config_dir: Path = SAMPLE_DIR,
    faults: Sequence[str] = (),
    deployment_source: str | None = None,
) -> Iterator[Path]:
    """Generate and serve the sample organisation; yields the path of a catalog file pointing at it.

    By default the services spread over every source: a few page through Opsgenie instead of PagerDuty, a few keep
    their code on GitLab, deploy with GitHub Actions or with Jenkins. `deployment_source` instead renders every
    service's deployments through that one source (github, github_actions, gitlab, jenkins), the history unchanged.
    `faults` names fault modes (`sample_org.faults.FAULTS`) injected into the sample APIs' answers.

    The sample APIs demand tokens like the real ones; random ones are put in the environment for this process.
    """
    from sample_org import sample_tokens, token_environment
    from sample_org.process import serve_in_subprocess

    tokens = sample_tokens()
    os.environ.update(token_environment(tokens))
    options: dict[str, Any] = {"opsgenie_services": services // 6}
    options |= {"deployment_source": deployment_source} if deployment_source else {"source_mix": True}
    with serve_in_subprocess(services, days, seed, end, port, tokens, options, tuple(faults)) as (_, catalog_yaml):
        config_dir.mkdir(parents=True, exist_ok=True)
        config = config_dir / "opmetrics.yaml"
        config.write_text("warehouse: warehouse.duckdb\n" + catalog_yaml)
        yield config


@sample.command("serve")
@_with_size
@click.option("--port", default=8765, show_default=True)
def sample_serve(services: int, days: int, seed: int, end: datetime | None, port: int) -> None:
    """Serve the sample organisation until interrupted (for connector work)."""
    day = end.date() if end else datetime.now(UTC).date()
    with serve_sample(services, days, seed, day, port) as config:
        click.echo(f"sample organisation on http://127.0.0.1:{port}; catalog: {config}")
        click.echo("tokens are in this process's environment only; use `opmetrics demo` for a full run")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def _preload_definitions() -> None:
    """Import the Dagster definitions ahead of time; on any problem, `run_daily` imports them itself.

    Only over a current manifest: after an edit of the dbt project, `run_daily` parses it first, then imports.
    """
    from orchestration.dbt.project import manifest_is_current

    with suppress(Exception):
        if manifest_is_current():
            import orchestration.definitions  # noqa: F401


@main.command()
@_with_size
def demo(services: int, days: int, seed: int, end: datetime | None) -> None:
    """Serve the sample organisation, run the daily job against it, and print the comparison."""
    day = end.date() if end else datetime.now(UTC).date()
    # Load Dagster and the definitions while the server process generates the organisation: the two overlap.
    threading.Thread(target=_preload_definitions, name="preload", daemon=True).start()
    with serve_sample(services, days, seed, day) as config:
        os.environ["OPMETRICS_CONFIG"] = str(config)
        os.environ["OPMETRICS_AS_OF"] = day.isoformat()
        started = time.monotonic()
        ok = run_daily()
        elapsed = time.monotonic() - started
    if not ok:
        sys.exit(1)
    from orchestration.report import comparison_table

    catalog, file = load_catalog(config, resolve_secrets=False)
    click.echo(comparison_table(catalog.warehouse_path(file.parent)))
    click.echo(f"\ndaily_refresh on the sample organisation ({services} services, {days} days): {elapsed:.1f}s")
    click.echo(f"warehouse: {catalog.warehouse_path(file.parent)}")
    from orchestration.serving.paths import serving_paths

    paths = serving_paths(catalog.warehouse_path(file.parent))
    click.echo(f"snapshot for BI (read-only): {paths.snapshot}  (Parquet: {paths.parquet_dir})")
    click.echo(f"report: {paths.report}")


@main.command()
@_with_size
def dev(services: int, days: int, seed: int, end: datetime | None) -> None:
    """Open `dagster dev` on the sample organisation (served for as long as Dagster runs)."""
    day = end.date() if end else datetime.now(UTC).date()
    with serve_sample(services, days, seed, day) as config:
        env = {
            **os.environ,
            "OPMETRICS_CONFIG": str(config),
            "OPMETRICS_AS_OF": day.isoformat(),
            "DAGSTER_HOME": str(_dagster_home()),
        }
        dagster = Path(sys.executable).with_name("dagster")
        subprocess.run([str(dagster), "dev", "-m", "orchestration.definitions"], env=env, cwd=ROOT, check=False)
