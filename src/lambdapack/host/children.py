"""Work on threads that start child processes, stoppable at once from the main thread.

Why: the CLI turns SIGTERM (and Python turns SIGINT) into KeyboardInterrupt in the main
thread. A thread pool waiting for its children would then sit in `shutdown(wait=True)`
until every child finished on its own (a minute for a large bytecode compile). Here the
main thread waits in short slices (interruptible on every OS), and on any exception
kills every child still running, forbids new ones, and only then joins the threads,
which return as soon as their child's pipes close. The children themselves are
started and killed by `processes.Group`.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable
from typing import TypeVar

from lambdapack.host.processes import Group

__all__ = ["map_with_children"]

T = TypeVar("T")
R = TypeVar("R")

# How often the waiting main thread wakes up: a lock wait without a timeout is not
# interrupted by Ctrl-C on Windows.
_POLL_SECONDS = 0.1


def map_with_children(
    func: Callable[[T], R], items: Iterable[T], workers: int, children: Group
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
