"""Keeping the cache in shape: eviction to a size, sweeping leftovers of killed builds.

Only prune and clean remove entries, under the cache's exclusive lock, so nothing a
running build uses disappears (sweeping tmp/ by age is safe under the shared lock).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

from lambdapack.cache.walk import du, pack_units
from lambdapack.cache.walk import entries as walk_entries

__all__ = ["ENTRY_KINDS", "drop_orphan_packs", "evict", "stored_bytes", "sweep_tmp"]

ENTRY_KINDS = ("artifacts", "dists", "facts", "members", "pyc", "resolutions", "wheels")  # what prune counts and removes


def stored_bytes(root: Path) -> int:
    """The entries' bytes as prune counts them (a full walk)."""
    return sum(size for kind in ENTRY_KINDS for _p, size, _u in walk_entries(root / kind, kind))


def evict(root: Path, max_bytes: int) -> tuple[int, int]:
    """Remove least recently used entries until they fit in `max_bytes`;
    returns (bytes freed, bytes left)."""
    entries = []
    for kind in ENTRY_KINDS:
        for path, size, used in walk_entries(root / kind, kind):
            entries.append((used, size, path))
    total = sum(size for _u, size, _p in entries)
    freed = 0
    for _used, size, path in sorted(entries, key=lambda e: (e[0], e[1], str(e[2]))):
        if total <= max_bytes:
            break
        for p in path if isinstance(path, list) else [path]:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
        total -= size
        freed += size
    return freed, total


def drop_orphan_packs(packs: Path) -> int:
    """A pack without its index (or the reverse) is never read: garbage of a killed
    build. Only called under the exclusive lock, when no build is between the renames."""
    freed = 0
    for parts, complete in pack_units(packs):
        if not complete:
            for f in parts:
                with contextlib.suppress(OSError):
                    size = f.stat().st_size
                    f.unlink()
                    freed += size
    return freed


def sweep_tmp(tmp: Path, max_age: float) -> int:
    """Remove what is in `tmp` (older than `max_age` seconds, when not 0); returns bytes freed."""
    freed = 0
    now = time.time()
    for p in tmp.iterdir() if tmp.exists() else []:
        try:
            if max_age and now - p.stat().st_mtime < max_age:
                continue
            _n, size = du(p) if p.is_dir() else (1, p.stat().st_size)
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink()
            freed += size
        except OSError:
            continue
    return freed
