"""ordered_map: results in the items' order from spawned workers, a bounded number in flight, errors raised."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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


_ORPHAN_SCRIPT = """
import sys, time
from cordon.app.processes import ordered_map

def nap(n):
    time.sleep(60)
    return n

if __name__ == "__main__":
    for _ in ordered_map(nap, range(4), workers=2):
        pass
"""


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "orphans.py"
    script.write_text(_ORPHAN_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 30
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = {
                w for w in _children(parent.pid) if "spawn_main" in Path(f"/proc/{w}/cmdline").read_text()
            }
        assert len(workers) == 2
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 15
    alive = set(workers)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = {w for w in alive if Path(f"/proc/{w}").exists() and "Z" not in _state(w)}
    assert not alive, f"workers {alive} outlived their killed parent"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
