"""This machine's cores, shared by every build in the process: one token per core.

Why: a project builds several artifacts at once (threads), and each build compiles bytecode in
one child process per core and compresses members in one thread per core. Without a shared
limit, three artifacts on two cores would run six compilers at once and thrash. Every unit of
CPU-heavy work (a compiler child for its whole life, one member's compression) holds a token
while it runs, so the process never runs more of them than there are cores, whichever build
they belong to. Tokens are never held while waiting for another token: no deadlock.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

from lambdapack.host.processes import Stopped

__all__ = ["CORES", "Cores"]


class Cores:
    """A counting semaphore of `n` tokens, with a wait that a stopped build can leave."""

    def __init__(self, n: int) -> None:
        self._tokens = threading.BoundedSemaphore(n)

    @contextlib.contextmanager
    def token(self, stopped: Callable[[], bool] = lambda: False) -> Iterator[None]:
        """Hold one token for the block. `stopped`: polled while waiting; once it is true the
        wait ends by raising `Stopped`, so an ending build never starts new work."""
        while not self._tokens.acquire(timeout=0.1):
            if stopped():
                raise Stopped
        try:
            yield
        finally:
            self._tokens.release()


CORES = Cores(os.cpu_count() or 1)
