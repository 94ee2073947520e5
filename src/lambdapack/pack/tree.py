"""The unpacked tree (`--output-dir DIR`): the zip's members as files, for SAM's makefile
builds and CDK's local bundling, which take a directory rather than a zip.

Exactly the zip's members (the first of each name, as the zip keeps), the same bytes, mode
0755 where the zip says executable and 0644 otherwise (no chmod on Windows, which has no
mode bits), the directories they need and nothing else. The tree is built in a temporary
directory beside DIR and swapped in only when complete; DIR's old contents go with it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from lambdapack.errors import BuildError, Operation, from_os_error
from lambdapack.pack.zipwriter import in_zip_order, probe_beside
from lambdapack.staged import StagedFile

__all__ = ["WRITING_TREE", "atomic_tree", "check_tree_writable", "tree_conflict", "tree_from_staged", "tree_from_zip",
           "tree_matches_zip"]

WRITING_TREE = Operation("writing the unpacked tree", "pass another --output-dir")
_CHUNK = 1 << 20


def _real(path: Path) -> Path:
    """The path as the file system sees it: links followed, case folded where names ignore it."""
    return Path(os.path.normcase(os.path.realpath(path)))


def tree_conflict(dest: Path, source: Path | None, protected: Sequence[tuple[str, Path]]) -> str | None:
    """Why `dest` must not be replaced by a tree, or None. Never the source tree, inside it
    (the next build would pack the tree) or around it; never around what `protected` names
    ((what, path): the zip outputs, the current and home directories), which replacing
    `dest` would remove. Pure but for resolving links."""
    d = _real(dest)
    if source is not None:
        s = _real(source)
        if d == s or d in s.parents:
            return f"--output-dir {dest} is or contains the source tree {source}, which replacing it would remove"
        if s in d.parents:
            return f"--output-dir {dest} is inside the source tree {source}, so the next build would pack it"
    for what, path in protected:
        p = _real(path)
        if d == p or d in p.parents:
            return f"--output-dir {dest} is or contains {what} {path}, which replacing it would remove"
    return None


def _safe_parts(name: str) -> tuple[str, ...]:
    """The path parts of a member name; a name that would land outside the tree is refused
    (staging never makes one, but a cached zip is read back from disk)."""
    parts = PurePosixPath(name).parts
    drive_like = os.name == "nt" and any(":" in p or "\\" in p for p in parts)
    if not parts or name.startswith("/") or ".." in parts or drive_like:
        raise BuildError(f"the zip member {name!r} cannot be written into a directory",
                         "build again with --no-cache (a cached zip was altered)")
    return parts


def _set_mode(path: Path, executable: bool) -> None:
    if os.name != "nt":  # Windows has no mode bits: the zip's attributes matter on Lambda only
        os.chmod(path, 0o755 if executable else 0o644)


def _targets(root: Path, names: Sequence[str]) -> list[Path]:
    """Where each member goes, its directories made once each (not once per file)."""
    targets = [root.joinpath(*_safe_parts(n)) for n in names]
    for d in sorted({t.parent for t in targets}):
        d.mkdir(parents=True, exist_ok=True)
    return targets


def tree_from_staged(entries: Sequence[StagedFile], root: Path) -> int:
    """Copy the members the zip of `entries` has into `root` (empty); returns the file count."""
    ordered = in_zip_order(entries)
    for e, target in zip(ordered, _targets(root, [e.arcname for e in ordered]), strict=True):
        shutil.copyfile(e.path, target)
        _set_mode(target, e.executable)
    return len(ordered)


def _files_of(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in zf.infolist() if not i.is_dir()]  # our zips have no directory entries


def _executable(info: zipfile.ZipInfo) -> bool:
    return bool((info.external_attr >> 16) & 0o111)


def tree_from_zip(zip_path: Path, root: Path) -> int:
    """Extract a zip we wrote (a cached artifact: only the zip is at hand) into `root`."""
    with zipfile.ZipFile(zip_path) as zf:
        infos = _files_of(zf)
        for info, target in zip(infos, _targets(root, [i.filename for i in infos]), strict=True):
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
            _set_mode(target, _executable(info))
    return len(infos)


def tree_matches_zip(zip_path: Path, root: Path) -> bool:
    """Whether `root` already holds exactly the zip's members: the same files (nothing more, no
    links), sizes, CRC-32s and exec bits. Reading is several times cheaper than rewriting, so a
    no-change rebuild leaves an intact tree in place."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            infos = {i.filename: i for i in _files_of(zf)}
        found = {p.relative_to(root).as_posix(): p for p in root.rglob("*")}
        dirs = {d.as_posix() for n in infos for d in PurePosixPath(n).parents} - {"."}
        if set(found) != set(infos) | dirs:
            return False
        return all(_same_file(found[n], i) for n, i in infos.items())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _same_file(path: Path, info: zipfile.ZipInfo) -> bool:
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode) or st.st_size != info.file_size:
        return False
    if os.name != "nt" and stat.S_IMODE(st.st_mode) != (0o755 if _executable(info) else 0o644):
        return False
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc == info.CRC


def check_tree_writable(dest: Path) -> None:
    """Fail before any install when the tree could not be put at `dest` at the end: `dest`
    is a file, or its directory cannot take the temporary tree beside it."""
    try:
        if dest.exists() and not dest.is_dir():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dest))
        probe_beside(Path(os.path.realpath(dest)),
                     lambda parent: Path(tempfile.mkdtemp(prefix=".lambdapack-check.", dir=parent)).rmdir())
    except OSError as e:
        raise from_os_error(e, WRITING_TREE, dest) from e


@contextlib.contextmanager
def atomic_tree(dest: Path) -> Iterator[Path]:
    """Yield an empty directory beside `dest`; when the block succeeds it becomes `dest`.

    A symlink at `dest` is followed (the tree goes where it points). On any failure the
    temporary tree is removed and `dest` is as it was.
    """
    real = Path(os.path.realpath(dest))
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        # ".lambdapack-" names are left out of source trees: a killed build's leftover never ships.
        tmp = Path(tempfile.mkdtemp(prefix=f".lambdapack-{real.name}.", suffix=".partial", dir=real.parent))
    except OSError as e:
        raise from_os_error(e, WRITING_TREE, dest) from e
    try:
        yield tmp
        _swap_in(tmp, real)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise from_os_error(e, WRITING_TREE, dest) from e
        raise


def _swap_in(tmp: Path, dest: Path) -> None:
    """Put the finished tree `tmp` at `dest`. A directory cannot be renamed over a non-empty
    one, so the old one is renamed aside first and put back if the second rename fails."""
    if not dest.exists():
        os.replace(tmp, dest)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".lambdapack-{dest.name}.", suffix=".old", dir=dest.parent))
    old = aside / "old"
    try:
        os.replace(dest, old)
    except BaseException:
        aside.rmdir()
        raise
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old, dest)  # the old tree back where it was
        aside.rmdir()
        raise
    shutil.rmtree(aside, ignore_errors=True)
