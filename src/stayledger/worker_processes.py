"""Worker processes that leave no orphans: the pool a use case validates input in.

Two things a plain ``ProcessPoolExecutor`` gets wrong for a command-line tool:
- Ctrl-C reaches every process of the terminal's group; a worker killed by it breaks the pool, and the user sees
  ``BrokenProcessPool`` instead of what was kept. Workers ignore SIGINT: the parent alone decides to stop.
- ``kill -9`` of the parent leaves workers blocked writing results to a pipe that a sibling still holds open,
  for minutes. Each worker watches its parent and exits as soon as it is gone.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Callable, Final

PARENT_CHECK_SECONDS: Final = 0.2


def worker_pool(
    workers: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that ignore Ctrl-C and exit when this process dies; each runs
    ``initializer(*initargs)`` first (to send what every task needs once per worker, not with each task)."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


def _start_worker(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), name="exit-with-parent", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _exit_with_parent(parent: int) -> None:
    # A thread, not PR_SET_PDEATHSIG: portable, and it runs while the main thread is blocked in a write.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)
