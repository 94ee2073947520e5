"""Child processes run from worker threads, stoppable at once from the main thread.

Why: the CLI turns SIGTERM (and Python turns SIGINT) into KeyboardInterrupt in the main
thread. A thread pool waiting for its children would then sit in `shutdown(wait=True)`
until every child finished on its own (a minute for a large bytecode compile). Here the
main thread waits in short slices (interruptible on every OS), and on any exception
kills every child still running, forbids new ones, and only then joins the threads,
which return as soon as their child's pipes close.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["Children", "Stopped", "kill", "map_with_children"]

T = TypeVar("T")
R = TypeVar("R")

# How often the waiting main thread wakes up: a lock wait without a timeout is not
# interrupted by Ctrl-C on Windows.
_POLL_SECONDS = 0.1


class Stopped(Exception):
    """A child was to be started after the group was stopped (the build is ending)."""


class Children:
    """The child processes of one operation (a compile, a smoke test)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[subprocess.Popen[bytes], bool] = {}  # process -> has its own group
        self._stopped = False

    def start(self, argv: Sequence[str], *, own_group: bool = False, **kwargs: Any) -> subprocess.Popen[bytes]:
        """Popen(argv, **kwargs), registered; `own_group` puts it (and what it starts) in a
        new session, so that stopping kills the whole group (POSIX only)."""
        own = own_group and hasattr(os, "killpg")
        with self._lock:
            if self._stopped:
                raise Stopped
            proc = subprocess.Popen(list(argv), start_new_session=own, **kwargs)
            self._running[proc] = own
        return proc

    def forget(self, proc: subprocess.Popen[bytes]) -> None:
        """`proc` has finished (and was reaped) or has been dealt with by its caller."""
        with self._lock:
            self._running.pop(proc, None)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        """Kill every running child (and its group), and refuse to start new ones."""
        with self._lock:
            self._stopped = True
            running = list(self._running.items())
        for proc, own in running:
            kill(proc, own_group=own)


def kill(proc: subprocess.Popen[bytes], *, own_group: bool) -> None:
    """SIGKILL `proc`, and its process group when it leads one; never raises."""
    if own_group and hasattr(os, "killpg"):
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # type: ignore[attr-defined,unused-ignore]
            return
        except OSError:
            pass  # already gone (or the group is): kill the process itself below
    try:
        proc.kill()
    except OSError:
        pass


def map_with_children(
    func: Callable[[T], R], items: Iterable[T], workers: int, children: Children
) -> list[R]:
    """[func(item) ...] on `workers` threads, in order; `func` starts its processes with
    `children`. Any exception in the main thread (KeyboardInterrupt from SIGTERM or
    Ctrl-C) or in a worker stops every child before it propagates."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(func, item) for item in items]
        pending: set[concurrent.futures.Future[R]] = set(futures)
        while pending:
            _done, pending = concurrent.futures.wait(
                pending, timeout=_POLL_SECONDS, return_when=concurrent.futures.FIRST_EXCEPTION
            )
            for f in _done:
                exc = f.exception()
                if exc is not None:
                    raise exc
        return [f.result() for f in futures]
    except BaseException:
        children.stop()
        raise
    finally:
        # After stop() the workers' children are dead, so this join is short.
        pool.shutdown(wait=True, cancel_futures=True)
