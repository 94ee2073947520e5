"""The progress model a build reports to: stages (a step with a name, an optional total,
`advance(n)` and an end) and plain notes, whatever renders them.

Why through the one `Progress` callable: callers wrap it (tests collect the messages, a
project build's wrapper stops a build at its next step after Ctrl-C), so a stage's start is
a message like any other, a `str` that carries its `Stage`. A caller that knows nothing of
stages sees the same text as before; a renderer that does (cli/progress.py) watches the
stage's counter. Advancing never goes through the callable: it is called per file, from
worker threads, and must stay cheap. A shared model: imports nothing of ours but `units`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from lambdapack.units import count, human

__all__ = ["BYTES", "Progress", "Snapshot", "Stage", "StageStart", "staged"]

Progress = Callable[[str], None]

# The unit of a stage counted in bytes (packing: the largest members go first, so a count of
# members would stand still while they compress): shown as sizes, "120.3/249.3 MiB".
BYTES = "byte"


@dataclass(frozen=True)
class Snapshot:
    """A stage as it is at one moment: what a renderer draws (pure data)."""

    head: str  # "compiling"
    total: int | None  # None: no counter (uv's install: elapsed time only)
    unit: str  # "module" (counted as "1 module", "1,995 modules"), or BYTES
    tail: str  # "to unchecked-hash bytecode with Python 3.12" ("" for none)
    done: int
    seconds: float
    ended: bool = False
    ok: bool = True  # False: ended by an error or an interrupt

    @property
    def text(self) -> str:
        """The stage's words with its total: 'compiling 1,995 modules to ...'."""
        counted = f" {self.amount(self.total)}" if self.total is not None else ""
        return f"{self.head}{counted}{' ' + self.tail if self.tail else ''}"


    def amount(self, n: int) -> str:
        """`n` of the stage's unit: '1,995 modules', '249.3 MiB'."""
        return human(n) if self.unit == BYTES else count(n, self.unit)

    @property
    def counter(self) -> str:
        """How far it is: '812/1,995 modules', '120.3/249.3 MiB' ('' without a total)."""
        if self.total is None:
            return ""
        if self.unit != BYTES:
            return f"{self.done:,}/{count(self.total, self.unit)}"
        done, total = human(self.done), human(self.total)
        if done.split(" ")[-1] == total.split(" ")[-1]:  # one unit for both: "120.3/249.3 MiB"
            done = done.split(" ")[0]
        return f"{done}/{total}"


class Stage:
    """A running step. Thread-safe: `advance` may be called from any thread."""

    def __init__(self, head: str, total: int | None = None, unit: str = "", tail: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.head, self.total, self.unit, self.tail = head, total, unit, tail
        self._clock = clock
        self._started = clock()
        self._ended: float | None = None
        self._ok = True
        self._done = 0
        self._lock = threading.Lock()
        self._on_end: list[Callable[[Stage], None]] = []

    def advance(self, n: int = 1) -> None:
        with self._lock:
            # A chunk retried after a crash counts its files again: never past the total.
            self._done = self._done + n if self.total is None else min(self.total, self._done + n)

    def end(self, ok: bool = True) -> None:
        """Once; later calls do nothing. Tells whoever watches (a renderer printing the end line)."""
        with self._lock:
            if self._ended is not None:
                return
            self._ended, self._ok = self._clock(), ok
            watchers = list(self._on_end)
        for w in watchers:
            w(self)

    def on_end(self, watcher: Callable[[Stage], None]) -> None:
        self._on_end.append(watcher)

    def snapshot(self) -> Snapshot:
        with self._lock:
            now = self._ended if self._ended is not None else self._clock()
            return Snapshot(self.head, self.total, self.unit, self.tail, self._done, now - self._started,
                            self._ended is not None, self._ok)


class StageStart(str):
    """The message that starts a stage: its text (what a plain callable sees), and the stage."""

    stage: Stage

    def __new__(cls, stage: Stage) -> StageStart:
        self = super().__new__(cls, stage.snapshot().text)
        self.stage = stage
        return self


@contextmanager
def staged(say: Progress, head: str, total: int | None = None, unit: str = "", tail: str = "") -> Iterator[Stage]:
    """A stage around a block: started through `say` (which may raise to stop the build),
    ended when the block ends, as failed when it raises."""
    stage = Stage(head, total, unit, tail)
    say(StageStart(stage))
    try:
        yield stage
    except BaseException:
        stage.end(ok=False)
        raise
    stage.end()
