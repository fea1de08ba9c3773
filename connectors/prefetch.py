"""Read iterators ahead in threads, keeping their order: the consumer sees exactly what a plain loop would.

A sync spends most of its time waiting: on the API's answer, on the warehouse's write. Reading ahead overlaps
the waits without changing what lands or in which order, so checkpoints, resumes and tests stay deterministic.
Queues are bounded, so memory stays flat however long the iterators are.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class ReadAhead(Generic[T]):
    """Iterate `produce()` in a thread of its own, up to `depth` items ahead of the consumer.

    With `weigh`, `depth` bounds the summed weight of the items waiting instead of their number (the bytes of a
    source's pages read ahead); an item heavier than `depth` still passes when nothing else waits. The thread
    starts at once. A failure in it is raised to the consumer when it reaches that point; `close()` (or leaving
    the iteration early) tells the thread to stop instead of blocking on a full buffer.
    """

    def __init__(
        self,
        produce: Callable[[], Iterable[T]],
        depth: int,
        name: str = "read-ahead",
        weigh: Callable[[T], int] | None = None,
    ) -> None:
        self._depth = depth
        self._weigh = weigh
        self._buffer: deque[tuple[object, int]] = deque()
        self._weight = 0  # of the items in the buffer
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(produce,), name=name, daemon=True)
        self._thread.start()

    def _offer(self, item: object, weight: int = 1) -> bool:
        """Put `item` once there is room, unless the consumer has stopped listening; False then."""
        with self._changed:
            while self._buffer and self._weight + weight > self._depth:
                if self._stop.is_set():
                    return False
                self._changed.wait(0.1)
            if self._stop.is_set():
                return False
            self._buffer.append((item, weight))
            self._weight += weight
            self._changed.notify_all()
            return True

    def _run(self, produce: Callable[[], Iterable[T]]) -> None:
        items: Iterator[T] | None = None
        try:
            items = iter(produce())
            for item in items:
                if not self._offer(item, self._weigh(item) if self._weigh else 1):
                    return
            self._offer(_DONE, 0)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            self._offer(exc, 0)
        finally:
            close = getattr(items, "close", None)  # a generator's own cleanup runs here, not when it is collected
            if close is not None:
                close()

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                with self._changed:
                    while not self._buffer:
                        self._changed.wait()
                    item, weight = self._buffer.popleft()
                    self._weight -= weight
                    self._changed.notify_all()
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
        with self._changed:
            self._changed.notify_all()
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
