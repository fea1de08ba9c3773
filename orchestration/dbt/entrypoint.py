"""`opmetrics-dbt`: dbt's own command line, as the daily run starts it (`orchestration.dbt.assets.dbt_resource`).

It is dbt's CLI with three changes to how the process spends its time, none to what it does or writes: an event no
logger will write is dropped before its message is built (`fire_only_written_events`), a logger formats only the
events it will write (`format_only_written_events`), and the process ends without a last garbage collection over
dbt's heap (`orchestration.fast_exit`).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from orchestration.fast_exit import skip_final_collection


def format_only_written_events() -> None:
    """Let each of dbt's loggers skip formatting an event its level would drop.

    dbt formats every event into a line for every logger and only then hands it to Python's `logging`, which drops
    it by level (dbt_common's `_Logger.write_line`). dagster-dbt reads dbt's standard output as JSON at info level
    and the daily build's file log keeps warnings, so each of the thousands of debug events of a build (every SQL
    statement, every connection) was turned into JSON and thrown away, in the thread that schedules dbt's nodes.
    The test is the one `logging` makes first (`isEnabledFor`), and print events, which dbt sends at error level,
    go through as before: the lines written are the same. dbt's versions are pinned exactly; the test suite pins
    this to them (tests/test_dbt_entrypoint.py).
    """
    from dbt_common.events import logger as dbt_logger

    write_line = dbt_logger._Logger.write_line
    if getattr(write_line, "formats_only_written_events", False):
        return

    def write_only_written_line(self: Any, msg: Any) -> None:
        python_logger: logging.Logger | None = self._python_logger
        if python_logger is not None and not dbt_logger._is_print_event(msg):
            # dbt's own map of its levels to `logging`'s (its keys are str enums, equal to the message's string)
            level = dbt_logger._log_level_map.get(msg.info.level)
            if level is not None and not python_logger.isEnabledFor(level):
                return
        write_line(self, msg)

    write_only_written_line.formats_only_written_events = True  # type: ignore[attr-defined]
    dbt_logger._Logger.write_line = write_only_written_line  # type: ignore[method-assign]


def fire_only_written_events() -> None:
    """Let dbt's event manager drop an event below warning level that none of its loggers would write, before it
    builds the event's message.

    dbt_common's `EventManager.fire_event` turns every event into a message (its text, the invocation, a timestamp,
    then a protobuf copy of the event) before its loggers test the level. A daily build fires two debug events per SQL
    statement and more per connection and node, thousands in all, and no logger of the daily run keeps them
    (standard output at info, the file at warn). In py-spy profiles of that build at 1,000 services, building
    messages held the GIL 1.19-1.27 s, and 0.10 s once the unwritten ones were dropped here.
    An event goes through as before when anything could see it: a logger enabled for its level (the file log at
    debug, say), a callback (dbt's programmatic runner's), a print event (dbt writes those at error level), the
    warn-error handling (warnings and above are never dropped here), or dbt's own serialization test mode. The one
    callback dbt's CLI always adds, `dbt.tracking.track_behavior_change_warn`, reads behaviour-change events only,
    so every other event may be dropped beside it.
    """
    from dbt_common.events import event_manager
    from dbt_common.events import logger as dbt_logger

    fire_event = event_manager.EventManager.fire_event
    if getattr(fire_event, "fires_only_written_events", False):
        return
    try:
        from dbt.tracking import track_behavior_change_warn

        tracking_only: tuple[Any, ...] = (track_behavior_change_warn,)
    except ImportError:  # dbt_common without dbt-core
        tracking_only = ()

    def unseen_by_callbacks(manager: Any, e: Any) -> bool:
        if not manager.callbacks:
            return True
        return all(c in tracking_only for c in manager.callbacks) and type(e).__name__ != "BehaviorChangeEvent"

    def fire_written_event(
        self: Any, e: Any, level: Any = None, node: Any = None, force_warn_or_error_handling: bool = False
    ) -> None:
        if (
            not force_warn_or_error_handling
            and not os.environ.get("DBT_TEST_BINARY_SERIALIZATION")
            and unseen_by_callbacks(self, e)
        ):
            numeric = dbt_logger._log_level_map.get(level or e.level_tag())
            if (
                numeric is not None
                and numeric < logging.WARNING
                and type(e).__name__ not in dbt_logger.PRINT_EVENT_NAMES
                and not any(
                    logger._python_logger is not None and logger._python_logger.isEnabledFor(numeric)
                    for logger in self.loggers
                )
            ):
                return
        fire_event(self, e, level, node, force_warn_or_error_handling)

    fire_written_event.fires_only_written_events = True  # type: ignore[attr-defined]
    event_manager.EventManager.fire_event = fire_written_event  # type: ignore[method-assign]


def main() -> None:
    """Run dbt with this process's arguments and exit with its code."""
    from dbt.cli.main import cli

    fire_only_written_events()
    format_only_written_events()
    skip_final_collection()
    sys.exit(cli())


if __name__ == "__main__":
    main()
