"""Processes that hold large heaps end without walking them one last time."""

from __future__ import annotations

import atexit
import gc

_registered = False


def skip_final_collection() -> None:
    """Leave every object still alive at exit out of the interpreter's last garbage collection.

    At interpreter shutdown Python runs a full cyclic collection over everything the process still holds: Dagster's
    definitions and run events, dbt's manifest and graph. At 1,000 services x 730 days that walk took 1.9-2.4 s at
    the end of `opmetrics run` and 1.3-1.6 s at the end of a full `dbt build` (`docs/performance-log.md`), and
    freed nothing that outlives the process. Freezing the heap at exit skips that walk. It is an `atexit` hook, so
    the other exit handlers (logging's flush among them) still run and the standard streams are still flushed.
    Objects are still freed by reference count; only finalizers of objects caught in reference cycles do not run,
    and neither process leaves anything there to finalize: their warehouse connections are closed before exit
    (dbt's too: its test checks that no write-ahead log is left).
    """
    global _registered
    if not _registered:  # once, however many commands one process runs (a test's CliRunner)
        atexit.register(gc.freeze)
        _registered = True
