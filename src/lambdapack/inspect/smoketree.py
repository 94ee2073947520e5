"""The smoke test's local copy of Lambda's roots: extracted, made read-only, watched, removed.

The function zip and its layers are written (only the entries `open_artifact`
accepted, never through a link) under a `SmokeRoot`; the package tree is then made
read-only (0o555 directories, 0o444 files, 0o555 for executables), and snapshotted
before and after the imports, since a process running as root ignores 0o444.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from lambdapack.inspect.archive import Artifact
from lambdapack.inspect.placement import escapes as _escapes
from lambdapack.inspect.smokeplan import SmokeRoot

__all__ = ["extract", "lay_out", "remove_tree", "set_modes", "snapshot"]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def lay_out(layout: SmokeRoot, function: Artifact | None, layers: Sequence[Artifact]) -> None:
    """Create /var/task, /opt and /tmp under the root, extract into them, make the tree read-only."""
    for d in (layout.task, layout.opt, layout.tmp):
        d.mkdir(parents=True)
    if function is not None:
        extract(function, layout.task)
    for art in layers:
        extract(art, layout.opt)  # in order: a later layer overwrites
    set_modes(layout.task, writable=False)
    set_modes(layout.opt, writable=False)


def _safe_dir(base: Path, parts: Sequence[str]) -> Path | None:
    """base/parts..., creating real directories; None when a component is a link or a file."""
    here = base
    for part in parts:
        here = here / part
        try:
            st = here.lstat()
        except FileNotFoundError:
            here.mkdir(mode=0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            return None  # never write through a symlink or into a file
    return here


def extract(art: Artifact, dest: Path) -> None:
    """Write the entries `art` accepted under dest; nothing else, nowhere else."""
    links: dict[str, str] = {}
    for e in art.entries:
        if e.is_symlink:
            links[e.name] = art.read(e.name, 4096).decode("utf-8", "surrogateescape")
    for e in art.entries:
        parts = e.name.split("/")
        if any(p in ("", ".", "..") for p in parts):
            continue  # open_artifact normalises names; refuse anything else anyway
        if e.is_dir:
            _safe_dir(dest, parts)
            continue
        parent = _safe_dir(dest, parts[:-1])
        if parent is None:
            continue
        target = parent / parts[-1]
        try:
            st: os.stat_result | None = target.lstat()
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                continue  # a file over a directory: unzip refuses too
            target.unlink()  # a later layer overwrites an earlier one's file or link
        if e.is_symlink:
            # Only links that stay inside this artifact's root (open_artifact already
            # reported the others as LP303 errors).
            if not _escapes(e.name, links[e.name], links):
                target.symlink_to(links[e.name])
            continue
        data = art.read(e.name)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if e.mode is not None and e.mode & 0o111:
            os.chmod(target, 0o755)


def _real_dirs(root: Path) -> list[str]:
    return [dp for dp, _, _ in os.walk(root, followlinks=False)]


def set_modes(root: Path, *, writable: bool) -> None:
    """0o555/0o444 (0o555 for executables) on every real file and directory, or back to
    owner-writable; symlinks are never followed."""
    dirs = _real_dirs(root)
    if writable:
        for d in dirs:  # top-down, so every directory is writable before its children
            os.chmod(d, 0o755)
        return
    for d in dirs:
        for p in Path(d).iterdir():
            st = p.lstat()
            if stat.S_ISREG(st.st_mode):
                os.chmod(p, 0o555 if st.st_mode & 0o111 else 0o444)
    for d in reversed(dirs):
        os.chmod(d, 0o555)


def snapshot(roots: Iterable[Path]) -> dict[str, tuple[int, int, int]]:
    """Path -> (mode, size, mtime) of everything under `roots`, links not followed."""
    snap: dict[str, tuple[int, int, int]] = {}
    for root in roots:
        for dp, dns, fns in os.walk(root, followlinks=False):
            for n in dns + fns:
                p = f"{dp}/{n}"
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                snap[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return snap


def remove_tree(root: Path) -> None:
    """chmod back, then delete (twice: an import may have left read-only directories)."""
    for _ in range(2):
        try:
            set_modes(root, writable=True)
            shutil.rmtree(root)
            return
        except FileNotFoundError:
            return
        except OSError:
            continue
    shutil.rmtree(root, ignore_errors=True)
