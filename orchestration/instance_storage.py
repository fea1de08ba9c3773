"""Dagster's SQLite storage, with the event log's connections held open for the life of the process.

Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine, connects, commits and disposes of the engine for every
event it stores, and a daily run stores about 1,400 events (a step's start and end, every dbt node's
materialization, every check's evaluation) whatever the organisation's size. Profiled on the demo's run
(`python -m cProfile .venv/bin/opmetrics demo`), storing them took 114 s of a 270 s run on a loaded machine: 82 ms an
event, most of it opening and closing connections. This storage keeps one engine per database file (an LRU of a few:
a run's own file and the cross-run index) and commits in WAL mode with `synchronous=NORMAL`, which does not wait for
the disk on each commit: a power loss may lose a run log's last events, never corrupt the file. Nothing of the
warehouse depends on the run log: cursors and row counts live in the warehouse itself.

Configured in `dagster.yaml` (`storage: custom:`); the files are laid out as Dagster's own `storage: sqlite:`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

HELD_ENGINES = 4  # a run writes its own file and the index; the webserver reads a few runs at a time


def _fast_commits(dbapi_connection: Any, _record: Any) -> None:
    # WAL (set by Dagster when it creates a file) makes NORMAL safe against corruption; FULL syncs on every commit.
    dbapi_connection.execute("pragma synchronous=NORMAL")


class HeldOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that re-uses an engine (and its pooled connection) per database file."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> HeldOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, created once; the least recently used one is closed beyond HELD_ENGINES."""
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        event.listen(engine, "connect", _fast_commits)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > HELD_ENGINES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # as Dagster's: one transaction at a time per storage (its watcher threads too); the lock is taken first
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def has_table(self, table_name: str) -> bool:
        # Dagster asks before storing every asset check's evaluation and every asset event's tags, each time with
        # an engine of its own (sometimes inside a transaction holding the lock `_connect` takes, so the answer
        # is cached instead of asked through a held engine). A table, once there, stays until a wipe.
        if table_name not in self._tables_found and super().has_table(table_name):
            self._tables_found.add(table_name)
        return table_name in self._tables_found

    def _release(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._release()
        self._tables_found.clear()
        super().wipe()

    def dispose(self) -> None:
        self._release()
        super().dispose()


class OpmetricsSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, event logs, schedules under `base_dir`) with the held-open event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = HeldOpenSqliteEventLogStorage(os.path.join(base_dir, "history", "runs", ""))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> OpmetricsSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
