"""Read iterators ahead in threads, keeping their order: the consumer sees exactly what a plain loop would.

A sync spends most of its time waiting: on the API's answer, on the warehouse's write. Reading ahead overlaps
the waits without changing what lands or in which order, so checkpoints, resumes and tests stay deterministic.
Queues are bounded, so memory stays flat however long the iterators are.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class ReadAhead(Generic[T]):
    """Iterate `produce()` in a thread of its own, up to `depth` items ahead of the consumer.

    The thread starts at once. A failure in it is raised to the consumer when it reaches that point; `close()`
    (or leaving the iteration early) tells the thread to stop instead of blocking on a full queue.
    """

    def __init__(self, produce: Callable[[], Iterable[T]], depth: int, name: str = "read-ahead") -> None:
        self._buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(produce,), name=name, daemon=True)
        self._thread.start()

    def _offer(self, item: object) -> bool:
        """Put `item` unless the consumer has stopped listening; False then."""
        while not self._stop.is_set():
            try:
                self._buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, produce: Callable[[], Iterable[T]]) -> None:
        try:
            for item in produce():
                if not self._offer(item):
                    return
            self._offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            self._offer(exc)

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                item = self._buffer.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            self.close()

    def close(self) -> None:
        """Stop the thread (it finishes the item it is producing) and wait for it."""
        self._stop.set()
        self._thread.join(timeout=30)


def chain_ahead(producers: Iterable[Callable[[], Iterable[T]]], ahead: int, depth: int) -> Iterator[T]:
    """Every item of each producer, producer after producer (as `itertools.chain` would), while up to `ahead`
    producers are read in threads at once, each up to `depth` items ahead.

    What is yielded, and in which order, does not depend on `ahead`; only how much waiting overlaps does.
    """
    pending = iter(producers)
    running: deque[ReadAhead[T]] = deque()
    try:
        while True:
            while len(running) < ahead and (produce := next(pending, None)) is not None:
                running.append(ReadAhead(produce, depth, name=f"read-ahead-{len(running)}"))
            if not running:
                return
            yield from running[0]
            running.popleft()
    finally:
        for reader in running:
            reader.close()
