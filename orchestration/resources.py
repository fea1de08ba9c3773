"""The one resource the assets share: the catalog file, the warehouse it names, the as-of date, and a run's early
reads of its sources."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr

from connectors.base import Connector
from orchestration.config import Catalog, load_catalog
from orchestration.raw.prefetch import RunPrefetch, adopt_reads_before_run, early_reads_in_processes, sources_ahead
from orchestration.warehouse import connect


def as_of_date() -> date:
    """OPMETRICS_AS_OF (YYYY-MM-DD), else today in UTC: every mart is computed as of this date."""
    value = os.environ.get("OPMETRICS_AS_OF", "").strip()
    return date.fromisoformat(value) if value else datetime.now(UTC).date()


class OpmetricsResource(ConfigurableResource):
    """Loads the catalog named by OPMETRICS_CONFIG; opens the warehouse it points to."""

    config_path: str
    _prefetch: RunPrefetch | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Dagster sets up a copy of the resource for each run: the early reads belong to that run, opened before it
        # by `opmetrics run` or else at its first sync step.
        at_once = sources_ahead()
        if at_once:
            self._prefetch = adopt_reads_before_run(self.config_path) or RunPrefetch(
                at_once=at_once, in_process=early_reads_in_processes()
            )

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._prefetch is not None:
            self._prefetch.close()

    @property
    def prefetch(self) -> RunPrefetch | None:
        """This run's early reads of its daily syncs (`orchestration/raw/prefetch.py`); None outside a run."""
        return self._prefetch

    @cached_property
    def _loaded(self) -> tuple[Catalog, Path]:
        return load_catalog(self.config_path)

    @property
    def catalog(self) -> Catalog:
        return self._loaded[0]

    @property
    def warehouse_path(self) -> Path:
        catalog, file = self._loaded
        return catalog.warehouse_path(file.parent)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.warehouse_path, read_only=read_only) as con:
            yield con

    def connector(self, source: str) -> Connector | None:
        """The configured connector for `source`, or None when the catalog does not use it."""
        return self.catalog.connector(source) if source in self.catalog.sources else None


def opmetrics_resource() -> OpmetricsResource:
    return OpmetricsResource(config_path=EnvVar("OPMETRICS_CONFIG"))
