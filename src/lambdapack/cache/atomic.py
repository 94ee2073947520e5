"""How anything gets into the cache: written beside it in tmp/, then renamed into place.

A killed build leaves at most garbage in tmp/ (swept later), never a half entry. Each
write returns the change in stored bytes, for the running total (cache.total).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lambdapack.errors import USING_CACHE, from_os_error

__all__ = ["atomic_write", "copy_into", "move_into", "read_json", "touch", "writing"]

_SERIAL = itertools.count()  # next() is atomic under the GIL: thread-safe


def _temp_file(tmp_dir: Path) -> tuple[int, str]:
    """A new, exclusive file in `tmp_dir`: this process's id and a serial number. Why not
    tempfile.mkstemp: its random names cost a third of a millisecond each, which a cold build
    storing 4,000 .pyc and hashes pays 4,000 times. O_EXCL still refuses a killed process's leftover."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows only
    while True:
        name = os.path.join(tmp_dir, f"{os.getpid()}-{next(_SERIAL)}.tmp")  # noqa: PTH118 (a str for os.open)
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue


def atomic_write(path: Path, data: bytes, tmp_dir: Path) -> int:
    """Write `data` at `path` atomically; returns the bytes it added to the cache."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_file(tmp_dir)
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
    fd, name = _temp_file(tmp_dir)
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


def move_into(src: Path, dest: Path) -> int:
    """Rename `src`, a file of this build's own in the cache's tmp/ (same file system), to
    `dest`: no copy. Returns the change in stored bytes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    return _replace(src, dest)


# Errors only the disk written to can cause (EDQUOT is not on Windows).
_FULL_DISK = frozenset(n for n in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if n is not None)


@contextlib.contextmanager
def writing(root: Path) -> Iterator[None]:
    """A failed cache write (a full disk, a read-only mount) is one clear error."""
    try:
        yield
    except OSError as e:
        # A full disk is the cache's whatever file the error names: a copy's (shutil) names
        # the file it read from, here an output or an installed file outside the cache.
        full = e.errno in _FULL_DISK
        raise from_os_error(e, USING_CACHE, root if full or e.filename is None else e.filename) from e


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it is missing or not JSON (a miss)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def touch(path: str | Path) -> None:
    """Mark an entry used now: prune removes the least recently used first."""
    with contextlib.suppress(OSError):
        os.utime(path)
