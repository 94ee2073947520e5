"""How anything gets into the cache: written beside it in tmp/, then renamed into place.

A killed build leaves at most garbage in tmp/ (swept later), never a half entry. Each
write returns the change in stored bytes, for the running total (cache.total).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lambdapack.errors import USING_CACHE, from_os_error

__all__ = ["atomic_write", "copy_into", "read_json", "touch", "writing"]


def atomic_write(path: Path, data: bytes, tmp_dir: Path) -> int:
    """Write `data` at `path` atomically; returns the bytes it added to the cache."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        return _replace(Path(tmp), path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def _replace(tmp: Path, dest: Path) -> int:
    """os.replace, returning the change in stored bytes (for the running total)."""
    new = tmp.stat().st_size
    try:
        old = dest.stat().st_size
    except OSError:
        old = 0
    os.replace(tmp, dest)
    return new - old


def copy_into(src: Path, tmp_dir: Path, dest: Path, link: bool) -> int:
    """Put `src` at `dest` through a temp file in `tmp_dir` (a hard link when `link`
    and possible); the temp file never outlives a failure (a full disk included)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir)
    os.close(fd)
    tmp = Path(name)
    try:
        linked = False
        if link:
            tmp.unlink()
            try:
                os.link(src, tmp)
                linked = True
            except OSError:
                pass
        if not linked:
            shutil.copyfile(src, tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        return _replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def writing(root: Path) -> Iterator[None]:
    """A failed cache write (a full disk, a read-only mount) is one clear error."""
    try:
        yield
    except OSError as e:
        raise from_os_error(e, USING_CACHE, e.filename if e.filename is not None else root) from e


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it is missing or not JSON (a miss)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def touch(path: Path) -> None:
    """Mark an entry used now: prune removes the least recently used first."""
    with contextlib.suppress(OSError):
        os.utime(path)
