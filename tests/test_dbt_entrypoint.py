"""`opmetrics-dbt`: dbt's CLI whose loggers format only the events they write, with the same output as dbt's."""

from __future__ import annotations

import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_common.events import logger as dbt_logger
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.logger import LineFormat, LoggerConfig
from dbt_common.events.types import Note, PrintEvent

from orchestration.dbt.assets import dbt_build_args
from orchestration.dbt.entrypoint import format_only_written_events
from tests.test_dbt_project import dbt, log_file_levels


def _fire_a_build_s_worth(manager: EventManager) -> None:
    for level in (EventLevel.DEBUG, EventLevel.TEST, EventLevel.INFO, EventLevel.WARN, EventLevel.ERROR):
        manager.fire_event(Note(msg=f"a {level.value} note"), level=level)
    manager.fire_event(PrintEvent(msg="printed"))  # dbt sends it at error level, so that --quiet keeps it


def _written(patched: bool, monkeypatch: pytest.MonkeyPatch, run: str) -> tuple[dict[str, list[tuple]], int]:
    """What a JSON logger at info (dagster-dbt's standard output) and one at warn (the daily build's file) write,
    and how many lines were formatted in all."""
    formatted = 0
    create_line = dbt_logger._JsonLogger.create_line

    def counting(self: dbt_logger._JsonLogger, msg: object) -> str:
        nonlocal formatted
        formatted += 1
        return create_line(self, msg)

    monkeypatch.setattr(dbt_logger._JsonLogger, "create_line", counting)
    if patched:
        format_only_written_events()
    manager, streams = EventManager(), {"info": io.StringIO(), "warn": io.StringIO()}
    for level, stream in streams.items():
        manager.add_logger(LoggerConfig(name=f"opmetrics-test-{run}-{level}", line_format=LineFormat.Json,
                                        level=EventLevel(level), output_stream=stream))  # fmt: skip
    _fire_a_build_s_worth(manager)
    written = {}
    for level, stream in streams.items():
        events = [json.loads(line)["info"] for line in stream.getvalue().splitlines()]
        written[level] = [(e["name"], e["level"], e["msg"]) for e in events]
    return written, formatted


@pytest.fixture
def restored_dbt_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(dbt_logger._Logger, "write_line", dbt_logger._Logger.write_line)
    yield


@pytest.mark.usefixtures("restored_dbt_logger")
def test_loggers_format_only_what_they_write_and_write_what_dbt_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    as_dbt, formatted_by_dbt = _written(False, monkeypatch, "dbt")
    ours, formatted_by_ours = _written(True, monkeypatch, "ours")
    assert ours == as_dbt
    assert [level for _, level, _ in ours["info"]] == ["info", "warn", "error", "info"], ours["info"]
    assert [msg for *_, msg in ours["warn"]] == ["a warn note", "a error note", "printed"], ours["warn"]
    assert formatted_by_dbt == 2 * 6, "dbt formats every event for every logger"
    assert formatted_by_ours == len(ours["info"]) + len(ours["warn"]), "the debug events are formatted by no one"
    format_only_written_events()  # applied twice (two commands in one process), it still writes each line once
    assert _written(True, monkeypatch, "twice")[0] == as_dbt


def test_opmetrics_dbt_writes_the_events_dbt_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build by `opmetrics-dbt` and by plain `dbt`, as dagster-dbt runs it (JSON on standard output), and with
    the statements asked for in the file log: the same events, at the same levels, in both places."""
    monkeypatch.setenv("DBT_LOG_FORMAT", "json")
    seeds = ["--select", "resource_type:seed", "--indirect-selection", "empty"]
    written = {}
    for name in ("dbt", "opmetrics-dbt"):
        logs = tmp_path / name / "logs"
        (tmp_path / name).mkdir()
        monkeypatch.setenv("DBT_LOG_PATH", str(logs))
        executable = os.fspath(Path(sys.executable).with_name(name))
        result = dbt([*dbt_build_args(file_log_level="debug"), *seeds], tmp_path / name / "w.duckdb",
                     tmp_path / name / "target", executable=executable)  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
        events = [json.loads(line)["info"] for line in result.stdout.splitlines() if line.startswith("{")]
        stdout = Counter((e["name"], e["level"]) for e in events)
        file_levels = log_file_levels(logs / "dbt.log")
        stdout.pop(("UnableToPartialParse", "info"), None)  # the first build parses from scratch, the other does not
        written[name] = stdout, file_levels
    (dbt_stdout, dbt_file), (ours_stdout, ours_file) = written["dbt"], written["opmetrics-dbt"]
    assert ("LogSeedResult", "info") in ours_stdout, "dagster-dbt reads each node's result from standard output"
    assert not {level for _, level in ours_stdout} & {"debug", "test"}, "standard output stays at info"
    assert ours_stdout == dbt_stdout
    assert ours_file.keys() == dbt_file.keys() >= {"debug", "info"}, "the file log at debug keeps the statements"
