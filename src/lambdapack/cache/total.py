"""The cache's cap and the running total of stored bytes that keeps it cheaply.

Each build adds the bytes it stored to the total in `size` (a read-modify-write under
its own short lock, `size.lock`) instead of walking the cache; when the total is over
the cap, the cache is pruned (cache.upkeep). What the total misses (entries removed by
hand) is corrected by a full walk at least once a day.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from lambdapack.cache.atomic import atomic_write, writing

__all__ = ["DEFAULT_MAX_BYTES", "MAX_SIZE_ENV", "PRUNE_TO", "RunningTotal", "max_bytes_from", "parse_size"]

DEFAULT_MAX_BYTES = 5 * 1024**3
MAX_SIZE_ENV = "LAMBDAPACK_CACHE_MAX_SIZE"
PRUNE_TO = 0.8  # of the cap: headroom, so that not every build over the cap prunes
_WALK_EVERY = 86400.0  # seconds between full walks that correct the running total


def max_bytes_from(environ: Mapping[str, str]) -> int:
    """The cache's cap: $LAMBDAPACK_CACHE_MAX_SIZE (e.g. 500M, 2G), else 5 GiB."""
    raw = environ.get(MAX_SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(raw)
    except ValueError:
        from lambdapack.errors import UsageError

        raise UsageError(f"{MAX_SIZE_ENV}={raw!r} is not a size",
                         f"set {MAX_SIZE_ENV} to a number of bytes or e.g. 500M, 2G, or unset it") from None


def parse_size(text: str) -> int:
    """'500M', '2G', '1.5GB', '1000000' -> bytes."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    factor = 1
    if t and t[-1] in mult:
        t, factor = t[:-1], mult[t[-1]]
    value = float(t) * factor  # ValueError for garbage
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a size: {text!r}")
    return int(value)


class RunningTotal:
    """The `size` file under the cache root: "<total bytes> <time of the last walk>"."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp

    def read(self) -> tuple[int | None, float]:
        try:
            total, walked = (self.root / "size").read_text(encoding="ascii").split()
            return int(total), float(walked)
        except (OSError, ValueError):
            return None, 0.0

    def write(self, total: int, walked: float | None = None) -> None:
        with writing(self.root):
            atomic_write(self.root / "size", f"{total} {time.time() if walked is None else walked}\n".encode(),
                         self.tmp)

    def start(self) -> None:
        """A new, empty cache's total: 0, walked now. Only where no total exists yet (two
        builds creating one cache at once: one of them writes it, the other's walk-free add
        then counts on it); best effort, a total not written is measured by the first add."""
        with contextlib.suppress(OSError), open(self.root / "size", "x", encoding="ascii") as f:
            f.write(f"0 {time.time()}\n")

    def add(self, added: int, measure: Callable[[], int]) -> int:
        """Add `added` bytes, or set the total to `measure()` (a full walk) when there is
        none yet or the last walk is a day old; returns the new total."""
        total, walked = self.read()
        stale = total is None or time.time() - walked > _WALK_EVERY
        if added == 0 and not stale and total is not None:
            return total  # a no-change rebuild: nothing to write
        with self._lock():
            total, walked = self.read()
            if total is None or time.time() - walked > _WALK_EVERY:
                # No total yet (a cache from an older lambdapack), or a day since the last
                # walk: measure, which also corrects whatever the total missed.
                total, walked = measure(), time.time()
            else:
                total = max(0, total + added)
            self.write(total, walked)
        return total

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        from lambdapack.cache.lock import hold

        with writing(self.root), open(self.root / "size.lock", "a+b") as f, hold(f, exclusive=True):
            yield
