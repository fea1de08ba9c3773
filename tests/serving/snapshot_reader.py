"""A BI tool in miniature: open the snapshot read-only, read every mart, close; again and again.

Each pass writes one JSON line: the fingerprint of everything it read (every table's rows, in one connection), or the
error it got. It stops when the stop file appears, and after `--max-seconds` in any case.

    python -m tests.serving.snapshot_reader SNAPSHOT LOG STOP_FILE [--max-seconds 120]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb

from tests.serving.fixtures import fingerprint


def read_once(snapshot: Path) -> dict[str, object]:
    try:
        con = duckdb.connect(str(snapshot), read_only=True)
        try:
            return {"fingerprint": fingerprint(con)}
        finally:
            con.close()
    except Exception as exc:  # every failure is a finding: log it and keep reading
        return {"error": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("log", type=Path)
    parser.add_argument("stop", type=Path)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_seconds
    with args.log.open("w") as log:
        while not args.stop.exists() and time.monotonic() < deadline:
            log.write(json.dumps(read_once(args.snapshot)) + "\n")
            log.flush()


if __name__ == "__main__":
    main()
