"""What counts as one cache entry, how big it is and when it was last used: the walk
behind `cache info`, prune and the running total's daily correction (cache.Cache).

An entry is removed as a unit: a distribution's folder, an artifact's metadata with its
zips, a pack with its index, a .pyc with its hash, one member blob or one record file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["count_entries", "du", "entries", "pack_units"]


def pack_units(packs: Path) -> Iterator[tuple[list[Path], bool]]:
    """Each pack with its index, as the files present and whether both are. One without
    the other (its build was killed between the two renames) is never read."""
    stems = {f.stem for pattern in ("*.pack", "*.idx") for f in packs.glob(pattern)} if packs.exists() else set()
    for stem in sorted(stems):
        pair = [packs / f"{stem}.pack", packs / f"{stem}.idx"]
        present = [f for f in pair if f.exists()]
        yield present, len(present) == 2


def _pack_entries(packs: Path) -> Iterator[tuple[Any, int, float]]:
    """A pack and its index are one unit, last used when its index was touched; a half
    pair counts as unused."""
    for parts, complete in pack_units(packs):
        used = parts[1].stat().st_mtime if complete else 0.0
        yield parts, sum(p.stat().st_size for p in parts), used


def du(path: Path) -> tuple[int, int]:
    n = size = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                size += Path(dirpath, f).lstat().st_size
                n += 1
    return n, size


def count_entries(path: Path, kind: str) -> int:
    if kind == "artifacts":  # finished zips; their input pointers are bookkeeping
        return sum(1 for _ in path.glob("*.json")) if path.exists() else 0
    return sum(1 for _ in entries(path, kind))


def entries(path: Path, kind: str) -> Iterator[tuple[Any, int, float]]:
    """(removable unit, bytes, last use) for each cache entry of a kind."""
    if not path.exists():
        return
    if kind == "dists":
        for d in path.iterdir():
            m = d / "manifest.json"
            used = m.stat().st_mtime if m.exists() else 0.0
            yield d, du(d)[1], used
    elif kind == "artifacts":
        for meta in path.glob("*.json"):
            key = meta.stem
            parts = [meta, *path.glob(f"{key}-*.zip")]
            yield parts, sum(p.stat().st_size for p in parts if p.exists()), meta.stat().st_mtime
        for pointer in path.glob("*.inputs"):
            st = pointer.stat()
            yield pointer, st.st_size, st.st_mtime
    elif kind == "members":
        for sub in path.iterdir():
            if sub.name == "packs":
                yield from _pack_entries(sub)
                continue
            for b in sub.iterdir() if sub.is_dir() else []:
                st = b.stat()
                yield b, st.st_size, st.st_mtime
    elif kind == "pyc":
        for sub in path.iterdir():
            for b in sub.glob("*.pyc") if sub.is_dir() else []:
                parts = [b, b.with_suffix(".sha256")]
                yield parts, sum(p.stat().st_size for p in parts if p.exists()), b.stat().st_mtime
    elif kind == "wheels":  # one directory per built wheel
        for d in path.iterdir():
            yield d, du(d)[1], max((f.stat().st_mtime for f in d.glob("*.whl")), default=0.0)
    elif kind == "tmp":
        for p in path.iterdir():
            yield p, du(p)[1] if p.is_dir() else p.stat().st_size, p.stat().st_mtime
    else:  # resolutions/*.json, facts/*.facts: one file an entry
        for f in path.glob("*.json" if kind == "resolutions" else "*.facts"):
            st = f.stat()
            yield f, st.st_size, st.st_mtime
