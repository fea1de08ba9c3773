"""Reading ahead in threads changes how waits overlap, never what is yielded or in which order."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from connectors.prefetch import ReadAhead, chain_ahead


def counting(name: str, n: int, produced: list[str], delay: float = 0.0) -> Callable[[], Iterator[str]]:
    def produce() -> Iterator[str]:
        for i in range(n):
            time.sleep(delay)
            produced.append(f"{name}{i}")
            yield f"{name}{i}"

    return produce


@pytest.mark.parametrize("ahead", [1, 2, 5])
def test_chain_ahead_yields_what_chain_yields(ahead: int) -> None:
    sizes = {"a": 3, "b": 0, "c": 7, "d": 1}
    expected = list(itertools.chain.from_iterable(counting(k, n, [])() for k, n in sizes.items()))
    produced: list[str] = []
    got = list(chain_ahead([counting(k, n, produced, 0.001) for k, n in sizes.items()], ahead=ahead, depth=2))
    assert got == expected
    assert sorted(produced) == sorted(expected)


def test_later_partitions_are_read_while_the_first_is_consumed() -> None:
    produced: list[str] = []
    items = chain_ahead([counting("a", 2, produced), counting("b", 2, produced)], ahead=2, depth=4)
    assert next(items) == "a0"
    deadline = time.monotonic() + 5
    while "b1" not in produced and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "b1" in produced  # read before the consumer got past a0
    assert list(items) == ["a1", "b0", "b1"]


def test_a_producer_runs_at_most_depth_items_ahead() -> None:
    produced: list[str] = []
    reader = ReadAhead(counting("a", 1000, produced), depth=3)
    time.sleep(0.3)
    # depth queued, plus the one waiting to be put
    assert len(produced) <= 4
    reader.close()


def test_a_weighed_producer_waits_at_its_weight_and_an_item_heavier_than_it_still_passes() -> None:
    produced: list[str] = []
    items = ["a" * 5, "b" * 5, "c" * 5, "d" * 50, "e"]

    def produce() -> Iterator[str]:
        for item in items:
            produced.append(item)
            yield item

    def produced_settles(count: int) -> list[str]:
        """What was produced once `count` items were (or 10 s passed), and a fifth of a second more."""
        deadline = time.monotonic() + 10
        while len(produced) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        return list(produced)

    reader = iter(ReadAhead(produce, depth=12, weigh=len))
    assert produced_settles(3) == items[:3]  # 10 of 12 waiting; the third (15) waits to be put
    assert next(reader) == items[0]
    # The third is put (10 waiting again); the fourth, alone heavier than 12, waits for the buffer to empty.
    assert produced_settles(4) == items[:4]
    assert list(reader) == items[1:]


def test_a_failure_is_raised_where_the_plain_loop_would_raise_it() -> None:
    def broken() -> Iterator[str]:
        yield "b0"
        raise ValueError("page 2 of b is not JSON")

    got: list[str] = []
    with pytest.raises(ValueError, match="page 2 of b"):
        for item in chain_ahead([counting("a", 3, []), broken, counting("c", 3, [])], ahead=3, depth=2):
            got.append(item)
    assert got == ["a0", "a1", "a2", "b0"]


def test_leaving_early_stops_every_thread() -> None:
    before = threading.active_count()
    items = chain_ahead([counting(k, 10_000, []) for k in "abcd"], ahead=4, depth=2)
    assert next(items) == "a0"
    items.close()  # what a `for` loop left by an exception does
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
