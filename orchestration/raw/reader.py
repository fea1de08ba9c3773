"""Read a connector in processes of its own while the sync's process writes the warehouse.

A sync's CPU is mostly the reading: HTTP, parsing pages, turning records into rows. In one process Python's GIL
serialises it with the writing; a reading process runs beside it on another core. A connector that reads by
partition (`Connector.splits_by_partition`: GitHub's repositories, GitLab's projects) shares its partitions among
several reading processes, and this process takes them back in the order one reader would have yielded them, so
what lands, and when each cursor is stored, is the same however many processes read.

Each reading process is `python -m orchestration.raw.reader`: it gets its job (the connector's class, settings and
mappings, the lower bounds, its share) pickled on stdin and answers pickled messages on stdout: lists of events
(`RowPage`, `Checkpoint`, `PartitionDone`), its log records, then `Finished` or `Failed`. Queues are bounded, so a
process reading ahead waits rather than growing. A reading process dies with the sync's process (Linux), and is
killed when the sync stops early.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import IO, Any

from connectors.base import Bookmark, Checkpoint, Connector, PartitionDone, ServiceMapping, SourceSettings
from connectors.prefetch import ReadAhead
from orchestration.raw.rows import RowPage, as_rows

log = logging.getLogger("orchestration.reader")

# Reading processes a sync starts by default (OPMETRICS_READER_PROCESSES; 0 reads in a thread of the sync's
# process). Two: this machine's cores, and a connector's reading beside the writing already fills them.
DEFAULT_READER_PROCESSES = 2

# Rows a reading process sends in one message: enough that pickling's per-message cost is small.
MESSAGE_ROWS = 1_000
# Messages a reading process may be ahead of the sync (about a megabyte each at most).
MESSAGES_AHEAD = 8


def reader_processes() -> int:
    """How many processes a sync reads in (OPMETRICS_READER_PROCESSES)."""
    return env_count("OPMETRICS_READER_PROCESSES", DEFAULT_READER_PROCESSES)


def env_count(variable: str, default: int, most: int = 16) -> int:
    """The whole number from 0 to `most` in the environment variable `variable`, else `default`; a ValueError
    naming the variable for anything else."""
    raw = os.environ.get(variable, str(default)).strip()
    try:
        count = int(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number, got {raw!r}") from None
    if not 0 <= count <= most:
        raise ValueError(f"{variable} must be between 0 and {most}, got {count}")
    return count


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to the pipe `fd`. `pickle.dump` into Python's buffered pipe lost bytes of a
    message when the writing process was stopped and continued mid-write (SIGSTOP and SIGCONT: a shell's Ctrl-Z and
    `fg`, a profiler sampling it), and the reading side could read no further."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@dataclass(frozen=True)
class Bounds:
    """Where each stream's partition starts reading: `since(stream, partition)` of `Connector.sync`.

    A stored time is rewound by the lookback; a stored position is where reading resumes; `since` (a backfill)
    overrides both. Plain data, so a reading process gets it pickled.
    """

    cursors: dict[tuple[str, str], Bookmark] = field(default_factory=dict)
    lookback: timedelta = timedelta(0)
    since: date | None = None

    def __call__(self, stream: str, partition: str) -> Bookmark | None:
        if self.since:
            return datetime.combine(self.since, time(), UTC)
        cursor = self.cursors.get((stream, partition))
        if cursor is None or isinstance(cursor, int):
            # A position is where reading resumes: the connector re-reads what may still change (a build still
            # running) by checkpointing below it. Only a time is rewound by the lookback.
            return cursor
        return cursor - self.lookback


@dataclass(frozen=True)
class _Job:
    connector: type[Connector]
    settings: SourceSettings
    mappings: dict[str, ServiceMapping]
    bounds: Bounds
    share: tuple[int, int] | None
    log_level: int


@dataclass(frozen=True)
class Finished:
    """The reading process read everything it was given; `requests` it made."""

    requests: int


@dataclass(frozen=True)
class Failed:
    """The connector raised `error` (None if it could not be pickled); `text` is its traceback."""

    error: BaseException | None
    text: str


_PARENT_PID = "OPMETRICS_READER_PARENT"  # the sync's process, as its reading processes are told


class ReaderError(RuntimeError):
    """A reading process ended without saying why (killed, crashed)."""


def read_in_processes(
    connector: Connector,
    bounds: Bounds,
    processes: int,
    log_level: int | None = None,
    started: Callable[[ReadingProcess], None] | None = None,
) -> Iterator[RowPage | Checkpoint]:
    """The events of `connector.sync(bounds)`, pages as rows, read in `processes` processes (one unless the
    connector splits by partition), in the order one reader would yield them. Adds the processes' requests to
    `connector.client.requests_made`.

    `log_level`: the level the processes log at (default: the `connectors` logger's now), for a read that starts
    before its run sets the level; each record is logged here only if its logger then takes its level. `started`
    is told of each reading process as it starts (`ReadingProcess.kill` stops it from another thread).
    """
    count = max(1, processes) if connector.splits_by_partition else 1
    readers: list[ReadingProcess] = []
    try:
        for index in range(count):  # inside the `try`: a reader that fails to start stops those started before it
            readers.append(ReadingProcess(connector, bounds, (index, count) if count > 1 else None, log_level))
            if started is not None:
                started(readers[-1])
        position = 0  # the partition being taken; from reader `position % count`
        while True:
            reader = readers[position % count]
            message = reader.next()
            if isinstance(message, Finished):
                # The reader of the next partition has none: every partition is taken. The others must end too.
                for other in readers:
                    if other is not reader:
                        other.finish()
                break
            for event in message:
                if isinstance(event, PartitionDone):
                    if event.index != position:
                        raise ReaderError(
                            f"{connector.name}: reading process {position % count} ended partition {event.index},"
                            f" expected {position}"
                        )
                    position += 1
                else:
                    yield event
        connector.client.requests_made += sum(reader.requests for reader in readers)
    finally:
        for reader in readers:
            reader.close()


class ReadingProcess:
    """One reading process, and the thread that unpickles its messages (a `ReadAhead`)."""

    def __init__(
        self, connector: Connector, bounds: Bounds, share: tuple[int, int] | None, log_level: int | None = None
    ) -> None:
        self.source = connector.name
        self.label = f"{connector.name} reading process {share[0] if share else 0}"
        self.requests = 0
        self.finished = False
        job = _Job(
            type(connector),
            connector.settings,
            connector.mappings,
            bounds,
            share,
            logging.getLogger("connectors").getEffectiveLevel() if log_level is None else log_level,
        )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.raw.reader"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, _PARENT_PID: str(os.getpid())},
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        # The path first, so the job's classes (a connector outside this package: a test's) can be unpickled.
        try:
            _write_all(self._process.stdin.fileno(), pickle.dumps(sys.path) + pickle.dumps(job))
            self._process.stdin.close()
        except BaseException as exc:  # it died first, or this process is interrupted: it is not left behind
            self._process.kill()
            code = self._process.wait()
            if isinstance(exc, OSError):
                raise ReaderError(f"{self.label} ended before it took its job (exit code {code})") from exc
            raise
        # Unpickled in a thread of its own, up to MESSAGES_AHEAD messages ahead of the sync.
        self._ahead = ReadAhead(partial(self._read, self._process.stdout), depth=MESSAGES_AHEAD, name=self.label)
        self._messages = iter(self._ahead)

    def _read(self, stream: IO[bytes]) -> Iterator[Any]:
        """The process's messages up to its last; its log records are logged here as they come."""
        while True:
            try:
                message = pickle.load(stream)
            except EOFError:
                return
            except Exception as exc:  # a message cut short by the process's death
                raise ReaderError(f"{self.label} sent a message that could not be read ({exc})") from None
            if isinstance(message, logging.LogRecord):
                logger = logging.getLogger(message.name)
                if logger.isEnabledFor(message.levelno):
                    logger.handle(message)
                continue
            yield message
            if not isinstance(message, list):
                return

    def next(self) -> list[RowPage | Checkpoint | PartitionDone] | Finished:
        """The process's next message; raises what it failed with."""
        message = next(self._messages, None)
        if isinstance(message, list | Finished):
            if isinstance(message, Finished):
                self.requests, self.finished = message.requests, True
            return message
        if isinstance(message, Failed):
            if message.error is not None:
                # Unpickling drops the traceback: the reading process's own, as text, goes with the error.
                message.error.add_note(f"raised in {self.label}:\n{message.text}")
                raise message.error
            raise ReaderError(f"{self.label} failed:\n{message.text}")
        code = self._process.wait()
        raise ReaderError(f"{self.label} ended without finishing (exit code {code})")

    def finish(self) -> None:
        """Wait for the process's end; it has nothing left to read."""
        message = self.next()
        if not isinstance(message, Finished):
            raise ReaderError(f"{self.label} read more partitions than the connector has")

    def kill(self) -> None:
        """End the process now if it is still reading: whoever waits for its next message gets an error at once."""
        if not self.finished:
            self._process.kill()

    def close(self) -> None:
        """Stop the process if it is still reading (the sync stopped early), and reap it."""
        if not self.finished:
            self._process.kill()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()  # finished, yet still alive: it has nothing left to send
            self._process.wait()
        self._ahead.close()


# The reading process.


class _Send:
    """Pickled messages on stdout (`_write_all`), one writer at a time (the connector's threads log too)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def __call__(self, message: object) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            try:
                _write_all(self._fd, data)
            except BrokenPipeError:
                os._exit(1)  # the sync stopped listening (it failed or was killed): nothing to read for


class _Forward(logging.Handler):
    """Log records go to the sync's process, which logs them where its own go (Dagster's run log)."""

    def __init__(self, send: _Send) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg, record.args = record.getMessage(), None
            if record.exc_info:  # a traceback pickles as text only
                record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            self._send(record)
        except Exception:
            self.handleError(record)


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the sync's process dies, so a killed run leaves no reader."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != int(os.environ.get(_PARENT_PID) or os.getppid()):
        os._exit(1)  # the sync's process died before the line above: nobody is listening


def _main() -> None:
    _die_with_parent()
    out, sys.stdout = sys.stdout.fileno(), sys.stderr  # stray prints must not corrupt the message stream
    send = _Send(out)
    sys.path[:] = pickle.load(sys.stdin.buffer)
    job: _Job = pickle.load(sys.stdin.buffer)
    root = logging.getLogger()
    root.handlers[:] = [_Forward(send)]
    root.setLevel(job.log_level)
    batch: list[Any] = []
    rows = 0
    try:
        connector = job.connector(job.settings, job.mappings)
        connector.share = job.share
        for event in as_rows(connector, connector.sync(job.bounds)):
            batch.append(event)
            rows += len(event.rows) if isinstance(event, RowPage) else 0
            # A partition's end goes at once: the sync waits for it before it takes the next reader's partition.
            if rows >= MESSAGE_ROWS or isinstance(event, PartitionDone):
                send(batch)
                batch, rows = [], 0
        if batch:
            send(batch)
        send(Finished(connector.client.requests_made))
    except Exception as exc:
        if batch:
            send(batch)  # what was read before the failure lands, as it would in one process
        try:
            error: BaseException | None = pickle.loads(pickle.dumps(exc))
        except Exception:
            error = None
        send(Failed(error, "".join(traceback.format_exception(exc)).strip()))


if __name__ == "__main__":
    # Through the module's import, not `__main__`: the messages' classes must pickle under their importable name.
    from orchestration.raw.reader import _main as main

    main()
