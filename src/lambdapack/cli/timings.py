"""`build --timings`: where a build's wall time went, stage by stage, on stderr at its end.

Why beside the progress and not in it: the progress lines round to a tenth of a second and
say nothing of the time between stages (preflight, keys, hashing, the reports); this table
has milliseconds and a row for what no stage covers, so the rows add up to the total.
Stages are watched through the one `Progress` callable (lambdapack/progress.py), so the
pipeline knows nothing of it.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from lambdapack.progress import Progress, Snapshot, StageStart

__all__ = ["Timings", "timings_table"]


class Timings:
    """Wraps a build's progress; records every stage that starts through it."""

    def __init__(self, say: Progress) -> None:
        self._say = say
        self._stages: list[StageStart] = []
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def __call__(self, message: str) -> None:
        if isinstance(message, StageStart):
            with self._lock:
                self._stages.append(message)
        self._say(message)

    def print(self, out: TextIO) -> None:
        total = time.monotonic() - self._started
        with self._lock:
            snaps = [s.stage.snapshot() for s in self._stages]
        out.write(timings_table(snaps, total))


def timings_table(stages: list[Snapshot], total: float) -> str:
    """The table (pure): one row per stage in start order, then the time no stage covered
    (stages that overlap are each counted whole, so that row is never below zero)."""
    rows = [(_label(s), s.seconds) for s in stages]
    rows.append(("outside any stage (preflight, keys, hashing, reports)", max(0.0, total - sum(s for _t, s in rows))))
    width = max(len(t) for t, _s in rows)
    lines = ["timings (wall seconds):"]
    lines += [f"  {t.ljust(width)}  {s:8.3f}" for t, s in rows]
    lines.append(f"  {'total, from the start of the build'.ljust(width)}  {total:8.3f}")
    return "\n".join(lines) + "\n"


def _label(s: Snapshot) -> str:
    """The stage's head and total, without its tail: 'compiling 513 modules', 'packing 105.6 MiB'."""
    head = s.head if len(s.head) <= 48 else s.head[:47] + "…"  # "resolving and installing for python3.12 …"
    text = f"{head} {s.amount(s.total)}" if s.total is not None else head
    return text if s.ended else f"{text} (still running)"
