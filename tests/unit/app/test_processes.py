"""ordered_map: results in the items' order from spawned workers, a bounded number in flight, errors raised."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from cordon.app.processes import ordered_map


def _slow_square(n: int) -> tuple[int, int]:
    time.sleep(0.05 if n % 3 == 0 else 0.0)  # early items finish after later ones
    return n * n, os.getpid()


def _fail_at_four(n: int) -> int:
    if n == 4:
        raise ValueError(f"item {n} is bad")
    return n


def test_results_come_in_order_from_other_processes() -> None:
    got = list(ordered_map(_slow_square, range(12), workers=2))
    assert [square for square, _ in got] == [n * n for n in range(12)]
    assert os.getpid() not in {pid for _, pid in got}


def test_items_are_taken_lazily() -> None:
    taken: list[int] = []

    def items() -> Iterator[int]:
        for n in range(100):
            taken.append(n)
            yield n

    results = ordered_map(_slow_square, items(), workers=2)
    assert next(results)[0] == 0
    assert len(taken) <= 4  # the workers, one ahead, and the next one submitted
    results.close()


def test_a_worker_error_is_raised_at_its_item() -> None:
    seen: list[int] = []
    with pytest.raises(ValueError, match="item 4 is bad"):
        for n in ordered_map(_fail_at_four, range(10), workers=2):
            seen.append(n)
    assert seen == [0, 1, 2, 3]
