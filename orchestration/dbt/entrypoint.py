"""`opmetrics-dbt`: dbt's own command line, as the daily run starts it (`orchestration.dbt.assets.dbt_resource`).

It is dbt's CLI with two changes to how the process spends its time, none to what it does or writes: a logger
formats only the events it will write (`format_only_written_events`), and the process ends without a last garbage
collection over dbt's heap (`orchestration.fast_exit`).
"""

from __future__ import annotations

import logging
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


def main() -> None:
    """Run dbt with this process's arguments and exit with its code."""
    from dbt.cli.main import cli

    format_only_written_events()
    skip_final_collection()
    sys.exit(cli())


if __name__ == "__main__":
    main()
