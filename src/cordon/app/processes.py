"""Python-bound steps on more than one core: a function mapped over work items in worker processes, results
back in order, with only a few items in flight (memory stays bounded whatever the input's size).

Workers are spawned, not forked: the calling process runs DuckDB's and the media pool's threads, which a fork
would copy mid-flight. A spawned worker imports the calling program's main module again, so a script that
calls ingest or analyze must guard its entry point (`if __name__ == "__main__":`), as every program that uses
`multiprocessing` must; the `cordon` command does.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

from cordon.app.allocator import tune_allocator

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def _exit_with(parent: int) -> None:
    """Worker initializer: end this worker when the process that started it is gone (a killed ingest would
    otherwise leave its idle workers behind: each holds the call queue's pipe open itself); keep freed memory
    for reuse (`allocator`)."""
    tune_allocator()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="cordon-parent-watch", daemon=True).start()


def ordered_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int) -> Iterator[R]:
    """`fn(item)` for each of `items`, computed in `workers` spawned processes, yielded in the items' order.

    At most `workers + 1` items are in flight (submitted and not yet yielded). `fn` and the items must be
    picklable (a module-level function, or a `functools.partial` of one). An exception in a worker is raised
    here, at its item; the items not started yet are then cancelled.
    """
    todo = iter(items)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)
    ) as pool:
        pending: deque[Future[R]] = deque()

        def submit() -> bool:
            for item in todo:
                pending.append(pool.submit(fn, item))
                return True
            return False

        try:
            while len(pending) <= workers and submit():
                pass
            while pending:
                result = pending.popleft().result()
                submit()
                yield result
        finally:
            for future in pending:
                future.cancel()
