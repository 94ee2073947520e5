"""Shared/exclusive locks on a file, on Linux, macOS and Windows, with the standard library.

POSIX: flock(2) has both kinds. Windows: msvcrt.locking has only exclusive byte-range
locks, so a shared lock holds one of `SLOTS` bytes (any free one) and an exclusive lock
holds all of them: readers never block each other, and a writer waits for every reader.
The slot protocol is written against a one-byte lock primitive (`ByteLocks`), so that it
can be exercised on POSIX with fcntl.lockf byte ranges (tests/unit/test_cache_store.py).

No lock library: filelock has exclusive locks only, and portalocker's shared locks on
Windows need pywin32; both would be a dependency for about forty lines of code.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, Protocol

__all__ = ["SLOTS", "ByteLocks", "hold", "hold_slots"]

SLOTS = 64  # concurrent shared holders on Windows before a further one waits for a free slot
_POLL = 0.05  # seconds between attempts while waiting (Windows has no blocking byte lock)


class ByteLocks(Protocol):
    """Exclusive, non-blocking locks on single bytes of one open file."""

    def try_lock(self, offset: int) -> bool: ...
    def unlock(self, offset: int) -> None: ...


@contextlib.contextmanager
def hold(f: IO[bytes], exclusive: bool, wait: bool = True) -> Iterator[bool]:
    """Lock the open file `f`; yields whether the lock is held (always, when `wait`)."""
    if sys.platform == "win32":
        with hold_slots(_MsvcrtBytes(f), exclusive, wait) as got:
            yield got
    else:
        with _flock(f, exclusive, wait) as got:
            yield got


if sys.platform != "win32":
    import fcntl

    @contextlib.contextmanager
    def _flock(f: IO[bytes], exclusive: bool, wait: bool) -> Iterator[bool]:
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(f.fileno(), flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def hold_slots(locks: ByteLocks, exclusive: bool, wait: bool = True) -> Iterator[bool]:
    """The slot protocol: shared holds any one slot, exclusive holds every slot."""
    held = _take_all(locks, wait) if exclusive else _take_one(locks, wait)
    if held is None:
        yield False
        return
    try:
        yield True
    finally:
        for i in held:
            locks.unlock(i)


def _take_one(locks: ByteLocks, wait: bool) -> list[int] | None:
    while True:
        for i in range(SLOTS):
            if locks.try_lock(i):
                return [i]
        if not wait:
            return None
        time.sleep(_POLL)


def _take_all(locks: ByteLocks, wait: bool) -> list[int] | None:
    # In ascending order, so two exclusive waiters never deadlock holding each other's slots.
    held: list[int] = []
    for i in range(SLOTS):
        while not locks.try_lock(i):
            if not wait:
                for j in held:
                    locks.unlock(j)
                return None
            time.sleep(_POLL)
        held.append(i)
    return held


if sys.platform == "win32":
    import msvcrt

    class _MsvcrtBytes:
        def __init__(self, f: IO[bytes]) -> None:
            self._fd = f.fileno()

        def try_lock(self, offset: int) -> bool:
            os.lseek(self._fd, offset, os.SEEK_SET)
            try:
                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                return False
            return True

        def unlock(self, offset: int) -> None:
            os.lseek(self._fd, offset, os.SEEK_SET)
            msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
