"""Serve the sample organisation in a process of its own, as `serve_in_subprocess` does, for benchmarks at scale.

`sample_org.process.serve_in_subprocess` gives the server 120 s to generate the organisation; 100 services over
730 days took 14 s here, so 1,000 take over two minutes. This runs the very same child function with a longer wait, and
hands back the server's pid, so the benchmark can report the server's memory and CPU apart from the run's.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from typing import Any

from sample_org.process import _serve


@dataclass(frozen=True)
class Served:
    """A running sample server: its URL, the catalog YAML pointing at it, its pid and how long it took to start."""

    url: str
    catalog_yaml: str
    pid: int
    start_seconds: float


@contextmanager
def serve_org(
    services: int,
    days: int,
    seed: int,
    end: date,
    tokens: dict[str, str],
    options: dict[str, Any],
    start_timeout: float = 1800,
) -> Iterator[Served]:
    """Generate and serve an organisation in a spawned child (`serve_in_subprocess`'s own child function)."""
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(
        target=_serve, args=(child, services, days, seed, end, 0, tokens, options, ()), daemon=True
    )
    started = time.perf_counter()
    process.start()
    try:
        if not parent.poll(start_timeout):
            raise RuntimeError(f"the sample organisation's server did not start within {start_timeout:.0f}s")
        url, catalog_yaml = parent.recv()
        yield Served(url, catalog_yaml, process.pid, time.perf_counter() - started)
    finally:
        with suppress(BrokenPipeError, OSError):
            parent.send("stop")
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)
