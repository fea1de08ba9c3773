"""The Dagster instance of dagster.yaml: its event log keeps connections open, and what it stores reads back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import AssetCheckResult, DagsterInstance, asset, asset_check, materialize
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.instance_storage import HELD_ENGINES, HeldOpenSqliteEventLogStorage

ROOT = Path(__file__).resolve().parents[1]


@asset
def answer() -> int:
    return 42


@asset_check(asset=answer)
def answer_is_42() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


@asset_check(asset=answer)
def answer_is_even() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def test_runs_are_stored_with_held_open_connections_and_read_back_by_another_instance(home: Path) -> None:
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, HeldOpenSqliteEventLogStorage)
        run_ids = [materialize([answer], instance=instance).run_id for _ in range(HELD_ENGINES + 2)]
        # one engine per database file, the least recently used closed: never more than HELD_ENGINES open
        assert 0 < len(storage._engines) <= HELD_ENGINES
        written = [len(instance.all_logs(run_id)) for run_id in run_ids]
    # a second process (here: a second instance, as the webserver is) reads the same runs and events
    with DagsterInstance.get() as reader:
        assert [len(reader.all_logs(run_id)) for run_id in run_ids] == written
        assert all(n > 5 for n in written)
        latest = reader.get_latest_materialization_event(answer.key)
        assert latest is not None and latest.run_id == run_ids[-1]
    # laid out as Dagster's own `storage: sqlite:`, so an existing DAGSTER_HOME keeps its history
    assert (home / "history" / "runs.db").exists()
    assert (home / "history" / "runs" / f"{run_ids[0]}.db").exists()


def test_a_wiped_event_log_takes_new_events(home: Path) -> None:
    with DagsterInstance.get() as instance:
        first = materialize([answer], instance=instance).run_id
        instance.event_log_storage.wipe()
        assert instance.all_logs(first) == []
        second = materialize([answer], instance=instance).run_id
        assert len(instance.all_logs(second)) > 5


def test_asset_check_evaluations_are_stored_without_asking_for_the_table_each_time(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    ask = SqliteEventLogStorage.has_table

    def counting(self: SqliteEventLogStorage, table_name: str) -> bool:
        asked.append(table_name)
        return ask(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counting)
    with DagsterInstance.get() as instance:
        runs = [materialize([answer, answer_is_42, answer_is_even], instance=instance) for _ in range(3)]
        for check in (answer_is_42, answer_is_even):
            history = instance.event_log_storage.get_asset_check_execution_history(check.check_key, limit=10)
            assert sorted(record.run_id for record in history) == sorted(run.run_id for run in runs)
        # six evaluations and three materializations stored; each table asked for once, then remembered
        assert "asset_check_executions" in asked
        assert len(asked) == len(set(asked))
        instance.event_log_storage.wipe()
        materialize([answer, answer_is_42], instance=instance)
        assert asked.count("asset_check_executions") == 2, "a wipe forgets what it had found"
