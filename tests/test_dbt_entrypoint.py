"""`opmetrics-dbt`: dbt's CLI that builds and formats only the events its loggers write, with the same output as
dbt's."""

from __future__ import annotations

import io
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dbt.tracking import track_behavior_change_warn
from dbt_common.events import event_manager
from dbt_common.events import logger as dbt_logger
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.logger import LineFormat, LoggerConfig
from dbt_common.events.types import BehaviorChangeEvent, Note, PrintEvent
from dbt_common.exceptions.events import EventCompilationError

from orchestration.dbt.assets import dbt_build_args
from orchestration.dbt.entrypoint import fire_only_written_events, format_only_written_events
from tests.test_dbt_project import dbt, log_file_levels


def _fire_a_build_s_worth(manager: EventManager) -> None:
    for level in (EventLevel.DEBUG, EventLevel.TEST, EventLevel.INFO, EventLevel.WARN, EventLevel.ERROR):
        manager.fire_event(Note(msg=f"a {level.value} note"), level=level)
    manager.fire_event(PrintEvent(msg="printed"))  # dbt sends it at error level, so that --quiet keeps it


def _json_loggers(manager: EventManager, name: str, levels: tuple[str, ...]) -> dict[str, io.StringIO]:
    """A JSON logger at each of `levels` on `manager`, each writing to a stream of its own."""
    streams = {level: io.StringIO() for level in levels}
    for level, stream in streams.items():
        manager.add_logger(LoggerConfig(name=f"{name}-{level}", line_format=LineFormat.Json, level=EventLevel(level),
                                        output_stream=stream))  # fmt: skip
    return streams


def _lines(streams: dict[str, io.StringIO]) -> dict[str, list[tuple]]:
    """(name, level, message) of each line each logger wrote."""
    written = {}
    for level, stream in streams.items():
        events = [json.loads(line)["info"] for line in stream.getvalue().splitlines()]
        written[level] = [(e["name"], e["level"], e["msg"]) for e in events]
    return written


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
    manager = EventManager()
    streams = _json_loggers(manager, f"opmetrics-test-{run}", ("info", "warn"))
    _fire_a_build_s_worth(manager)
    return _lines(streams), formatted


@pytest.fixture
def restored_dbt_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(dbt_logger._Logger, "write_line", dbt_logger._Logger.write_line)
    monkeypatch.setattr(EventManager, "fire_event", EventManager.fire_event)
    yield


def _fired(
    patched: bool,
    monkeypatch: pytest.MonkeyPatch,
    run: str,
    levels: tuple[str, ...],
    callback: bool = False,
    extra_callback: Callable[[Any], None] | None = None,
) -> tuple[dict[str, list[tuple]], list[str], int]:
    """What JSON loggers at `levels` write and a callback receives, and how many event messages were built."""
    built = 0
    msg_from_base_event = event_manager.msg_from_base_event

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal built
        built += 1
        return msg_from_base_event(*args, **kwargs)

    monkeypatch.setattr(event_manager, "msg_from_base_event", counting)
    if patched:
        fire_only_written_events()
    manager = EventManager()
    streams = _json_loggers(manager, f"opmetrics-fire-{run}", levels)
    received: list[str] = []
    if callback:
        manager.add_callback(lambda msg: received.append(msg.info.level))
    if extra_callback is not None:
        manager.add_callback(extra_callback)
    _fire_a_build_s_worth(manager)
    return _lines(streams), received, built


@pytest.mark.usefixtures("restored_dbt_logger")
def test_an_event_no_logger_writes_is_dropped_before_its_message_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    as_dbt, _, built_by_dbt = _fired(False, monkeypatch, "dbt", ("info", "warn"))
    ours, _, built_by_ours = _fired(True, monkeypatch, "ours", ("info", "warn"))
    assert ours == as_dbt
    assert [level for _, level, _ in ours["info"]] == ["info", "warn", "error", "info"], ours["info"]
    assert built_by_dbt == 6, "dbt builds every event's message"
    assert built_by_ours == 4, "the debug and test events are built for no one"
    patched = EventManager.fire_event
    fire_only_written_events()  # applied twice (two commands in one process), it wraps dbt's once
    assert EventManager.fire_event is patched


@pytest.mark.usefixtures("restored_dbt_logger")
def test_a_print_event_reaches_a_logger_above_its_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """dbt writes print events at error level whatever their own (so `--quiet` keeps them)."""
    as_dbt = _fired(False, monkeypatch, "print-dbt", ("error",))[0]
    ours = _fired(True, monkeypatch, "print-ours", ("error",))[0]
    assert ours == as_dbt
    assert [msg for *_, msg in ours["error"]] == ["a error note", "printed"], ours["error"]


@pytest.mark.usefixtures("restored_dbt_logger")
def test_an_event_someone_could_see_still_goes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    with_debug_file = _fired(True, monkeypatch, "debug", ("info", "debug"))
    assert with_debug_file[0] == _fired(False, monkeypatch, "debug-dbt", ("info", "debug"))[0]
    assert [level for _, level, _ in with_debug_file[0]["debug"]][:2] == ["debug", "test"]
    assert with_debug_file[2] == 6
    _, received, built = _fired(True, monkeypatch, "callback", ("info",), callback=True)
    assert received == ["debug", "test", "info", "warn", "error", "info"], "a callback (dbtRunner's) gets them all"
    assert built == 6
    monkeypatch.setenv("DBT_TEST_BINARY_SERIALIZATION", "1")
    assert _fired(True, monkeypatch, "serialization", ("warn",))[2] == 6


@pytest.mark.usefixtures("restored_dbt_logger")
def test_dbt_s_own_tracking_callback_sees_what_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """dbt's CLI always adds `track_behavior_change_warn`, which reads behaviour-change events only: beside it, the
    debug events are still dropped, and a behaviour-change event still reaches it, whatever its level."""
    _, _, built = _fired(True, monkeypatch, "tracking", ("info",), extra_callback=track_behavior_change_warn)
    assert built == 4
    seen: list[str] = []
    build = event_manager.msg_from_base_event

    def counting(e: Any, level: Any = None) -> Any:
        seen.append(type(e).__name__)
        return build(e, level)

    monkeypatch.setattr(event_manager, "msg_from_base_event", counting)
    manager = EventManager()
    manager.add_callback(track_behavior_change_warn)
    manager.fire_event(Note(msg="a debug note"), level=EventLevel.DEBUG)
    change = BehaviorChangeEvent(flag_name="f", flag_source="s", description="d", docs_url="u")
    manager.fire_event(change, level=EventLevel.DEBUG)
    assert seen == ["BehaviorChangeEvent"]


@pytest.mark.usefixtures("restored_dbt_logger")
def test_a_warning_meets_warn_error_even_when_no_logger_writes_it() -> None:
    fire_only_written_events()
    manager = EventManager()
    _json_loggers(manager, "opmetrics-fire-errors-only", ("error",))
    manager.require_warn_or_error_handling, manager.warn_error = True, True
    with pytest.raises(EventCompilationError):  # dbt's --warn-error: the warning becomes the error
        manager.fire_event(Note(msg="a warning"), level=EventLevel.WARN)


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


@pytest.mark.parametrize("file_log_level", ["debug", "warn"])
def test_opmetrics_dbt_writes_the_events_dbt_writes(
    file_log_level: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build by `opmetrics-dbt` and by plain `dbt`, as dagster-dbt runs it (JSON on standard output), with the
    file log as the daily run keeps it (warn) and with the statements asked for (debug): the same events, at the
    same levels, in both places."""
    monkeypatch.setenv("DBT_LOG_FORMAT", "json")
    seeds = ["--select", "resource_type:seed", "--indirect-selection", "empty"]
    written = {}
    for name in ("dbt", "opmetrics-dbt"):
        logs = tmp_path / name / "logs"
        (tmp_path / name).mkdir()
        monkeypatch.setenv("DBT_LOG_PATH", str(logs))
        executable = os.fspath(Path(sys.executable).with_name(name))
        result = dbt([*dbt_build_args(file_log_level=file_log_level), *seeds], tmp_path / name / "w.duckdb",
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
    if file_log_level == "debug":
        assert ours_file.keys() == dbt_file.keys() >= {"debug", "info"}, "the file log at debug keeps the statements"
    else:
        assert ours_file == dbt_file
        assert not ours_file.keys() & {"debug", "info"}, "the file log at warn keeps no statements"
