"""bulk_gc: the cycle collector is set for bulk work while ingest runs, and put back when the last run ends."""

from __future__ import annotations

import gc
import threading

from cordon.app.bulk_gc import THRESHOLD, bulk_gc, keep_long_lived
from cordon.app.service import _Lru


def test_collector_is_set_for_the_run_and_put_back() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with bulk_gc():
        assert gc.get_threshold() == THRESHOLD
        assert gc.get_freeze_count() > frozen
        with bulk_gc():  # nested (a second run in the same process)
            assert gc.get_threshold() == THRESHOLD
        assert gc.get_threshold() == THRESHOLD  # still running: the outer run keeps it
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0  # everything is collected as usual again (long-lived caches refreeze)


def test_put_back_when_the_body_raises_and_across_threads() -> None:
    before = gc.get_threshold()
    started, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with bulk_gc():
            started.set()
            release.wait(5)

    thread = threading.Thread(target=other_run)
    thread.start()
    assert started.wait(5)
    try:
        with bulk_gc():
            raise ValueError("a failing run")
    except ValueError:
        pass
    assert gc.get_threshold() == THRESHOLD  # the other thread's run is still under way
    release.set()
    thread.join(5)
    assert gc.get_threshold() == before


def test_garbage_cycles_made_during_a_run_are_collected_after_it() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with bulk_gc():
        alive = [Node() for _ in range(10)]
        del alive
    assert gc.collect() >= 10


class _Node:
    def __init__(self) -> None:
        self.me = self


def test_long_lived_values_leave_the_collector_and_garbage_does_not() -> None:
    gc.unfreeze()
    garbage = [_Node() for _ in range(10)]
    del garbage
    kept = [[i] for i in range(5000)]  # tracked containers, like a decoded dossier's
    cache = _Lru(4, long_lived=True)
    cache.put("case", kept)
    frozen = gc.get_freeze_count()
    assert frozen >= len(kept)
    assert gc.collect() == 0  # the cycles that were garbage were collected, not frozen
    more = [_Node() for _ in range(3)]
    del more
    assert gc.collect() >= 3  # what comes later is collected as usual
    plain = _Lru(4)
    plain.put("case", [[i] for i in range(100)])
    assert (
        gc.get_freeze_count() <= frozen
    )  # a cache of small values freezes nothing (frozen ones may be freed)
    gc.unfreeze()


def test_a_bulk_job_keeps_its_own_freeze() -> None:
    gc.unfreeze()
    with bulk_gc():
        during = gc.get_freeze_count()
        made = [[i] for i in range(1000)]
        keep_long_lived()
        assert gc.get_freeze_count() <= during  # the 1,000 lists were not frozen (frozen ones may be freed)
        del made
    assert gc.get_freeze_count() == 0
