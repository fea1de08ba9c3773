"""Serve the sample organisation from a child process, so the server and the pipeline each get a core.

In one process the server's handlers and the connectors' clients share the GIL; the demo's several thousand
requests then take twice as long.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from multiprocessing.connection import Connection


def _serve(conn: Connection, n_services: int, days: int, seed: int, end: date, port: int,
           tokens: dict[str, str] | None, options: dict | None = None,
           faults: tuple[str, ...] = (), latency: float = 0.0) -> None:  # fmt: skip
    from sample_org import SampleServer, generate
    from sample_org.faults import install_faults

    org = generate(n_services=n_services, days=days, seed=seed, end=end, **(options or {}))
    # The organisation lives as long as the server: objects the garbage collector would otherwise walk again and
    # again while the answers are built (100 services x 730 days: 976,000 of them, 1.1 s a full collection).
    gc.freeze()
    with SampleServer(org, port=port, tokens=tokens) as server:
        install_faults(server, faults)
        if latency:
            server.interceptors.insert(0, partial(_wait, latency))
        # and the lookups the server built at start-up (Opsgenie's by team, GitHub's by sha), for the same reason
        gc.freeze()
        # PagerDuty's first sync counts back from the real now: reach the start of a history that ends in the past.
        conn.send((server.url, org.config_yaml(server.url, today=datetime.now(UTC).date())))
        conn.recv()  # block until the parent says stop (or goes away)


def _wait(seconds: float, request: object) -> None:
    """Answer `seconds` late, as an API across a network does (each request in its own thread: they overlap)."""
    time.sleep(seconds)


@dataclass(frozen=True)
class ServedProcess:
    """A sample server running in a child: its URL, the catalog YAML pointing at it, its pid, its start-up time."""

    url: str
    catalog_yaml: str
    pid: int
    start_seconds: float


@contextmanager
def serve_process(
    n_services: int,
    days: int,
    seed: int,
    end: date,
    port: int = 0,
    tokens: dict[str, str] | None = None,
    options: dict | None = None,
    faults: tuple[str, ...] = (),
    start_timeout: float = 120,
    latency: float = 0.0,
) -> Iterator[ServedProcess]:
    """Generate and serve an organisation in a child process, waiting up to `start_timeout` seconds for it.

    `options` are further keyword arguments of `generate` (e.g. `opsgenie_services`); `faults` names fault
    modes of `sample_org.faults` injected into the answers (none by default); `latency` delays every answer by
    that many seconds. The pid lets a benchmark report the server's memory and CPU apart from the pipeline's.
    """
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(
        target=_serve,
        args=(child, n_services, days, seed, end, port, tokens, options, tuple(faults), latency),
        daemon=True,
    )
    started = time.perf_counter()
    process.start()
    try:
        if not parent.poll(start_timeout):
            raise RuntimeError(f"the sample organisation's server did not start within {start_timeout:.0f}s")
        url, catalog_yaml = parent.recv()
        yield ServedProcess(url, catalog_yaml, process.pid, time.perf_counter() - started)
    finally:
        with suppress(BrokenPipeError, OSError):
            parent.send("stop")
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)


@contextmanager
def serve_in_subprocess(
    n_services: int,
    days: int,
    seed: int,
    end: date,
    port: int = 0,
    tokens: dict[str, str] | None = None,
    options: dict | None = None,
    faults: tuple[str, ...] = (),
    latency: float = 0.0,
) -> Iterator[tuple[str, str]]:
    """Generate and serve an organisation in a child process; yields (base URL, catalog YAML).

    `options` are further keyword arguments of `generate` (e.g. `opsgenie_services`); `faults` names fault
    modes of `sample_org.faults` injected into the answers (none by default); `latency` delays every answer by
    that many seconds.
    """
    with serve_process(n_services, days, seed, end, port, tokens, options, faults, latency=latency) as served:
        yield served.url, served.catalog_yaml
