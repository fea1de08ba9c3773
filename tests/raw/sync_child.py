"""Sync every configured source into a warehouse, optionally killing itself with SIGKILL in the middle of a page.

    python -m tests.raw.sync_child CONFIG WAREHOUSE [KILL_AT_PAGE]

SYNC_BATCH_RECORDS in the environment sets the records per transaction (1: every page its own transaction, the most
places to die in); by default the loader's own batching. SYNC_READER_PROCESSES: the connectors read in that many
processes (`SyncOptions.reader_processes`; by default in a thread).

With KILL_AT_PAGE = n, the process kills itself right after the n-th page's rows were inserted and before its
transaction commits: the hardest moment to die, deterministic because pages come in a fixed order. Each page and
each stored checkpoint is traced on stderr; the number of pages merged is printed as JSON when the process
survives.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import orchestration.raw.sync as sync_module
from orchestration.config import load_catalog
from orchestration.raw.sync import BATCH_RECORDS, SyncOptions, sync_source
from orchestration.warehouse import connect


def main(argv: list[str]) -> int:
    config, warehouse = argv[0], Path(argv[1])
    kill_at = int(argv[2]) if len(argv) > 2 else None
    pages = 0
    merge = sync_module.merge_rows

    def counting_merge(*args: Any, **kwargs: Any) -> int:
        nonlocal pages
        merged = merge(*args, **kwargs)
        pages += 1
        print(f"page {pages}: {args[1]} {merged} records", file=sys.stderr)  # where a run died, when debugging
        if pages == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # inside the page's transaction: nothing of it is committed
        return merged

    def tracing_save(*args: Any, **kwargs: Any) -> None:
        save(*args, **kwargs)
        source, cursors = args[1:3]
        for (stream, partition), cursor in cursors.items():
            print(f"checkpoint: raw_{source}.{stream} [{partition}] {cursor}", file=sys.stderr)

    save = sync_module.save_cursors
    sync_module.merge_rows = counting_merge  # the sync engine looks the functions up at call time
    sync_module.save_cursors = tracing_save
    catalog, _ = load_catalog(config)
    with connect(warehouse) as con:
        for name in sorted(catalog.sources):
            options = SyncOptions(
                batch_records=int(os.environ.get("SYNC_BATCH_RECORDS") or BATCH_RECORDS),
                reader_processes=int(os.environ.get("SYNC_READER_PROCESSES") or 0),
            )
            sync_source(con, catalog.connector(name), options, f"run-{os.getpid()}")
    print(json.dumps({"pages": pages}))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main(sys.argv[1:]))
