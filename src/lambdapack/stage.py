"""Staging: decide which file goes where in the zip, without copying anything.

The result is a manifest (arcname -> file on disk, mode, owning distribution). The
function layout puts code and dependencies at the zip root; the layer layout puts
dependencies under `python/`, the first of Lambda's Python folders in /opt.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .install import Distribution, read_distributions

__all__ = [
    "SOURCE_EXCLUDES",
    "Entry",
    "dependency_entries",
    "is_installer_leftover",
    "source_entries",
]

# Directories and files never copied from the user's source tree. The tests folder
# is kept unless the user asks (--exclude-tests): some handlers import from it.
SOURCE_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".DS_Store",
    ".aws-sam",
    ".serverless",
    ".idea",
    ".vscode",
    "node_modules",
    ".lambdapack-*",
    "*.partial",
)
TEST_DIRS: tuple[str, ...] = ("tests", "test")


@dataclass(frozen=True)
class Entry:
    arcname: str  # POSIX path inside the zip
    path: Path  # file on disk
    executable: bool
    size: int
    distribution: str | None  # "name version" of the owner, None for user code

    @property
    def top_level(self) -> str:
        return self.arcname.split("/", 1)[0]


def _executable(st: os.stat_result) -> bool:
    return bool(st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))


def _excluded(rel: PurePosixPath, patterns: Sequence[str]) -> bool:
    for pat in patterns:
        if "/" in pat:
            if fnmatch.fnmatchcase(str(rel), pat) or fnmatch.fnmatchcase(str(rel), pat.rstrip("/") + "/*"):
                return True
        elif any(fnmatch.fnmatchcase(part, pat) for part in rel.parts):
            return True
    return False


def source_entries(
    src: Path,
    *,
    prefix: str = "",
    exclude_tests: bool = False,
    extra_excludes: Sequence[str] = (),
    skip_paths: Iterable[Path] = (),
) -> list[Entry]:
    """The user's code, minus VCS folders, caches, virtualenvs and our own outputs."""
    patterns = [*SOURCE_EXCLUDES, *extra_excludes]
    skip = {p.resolve() for p in skip_paths}
    # Hand-vendored packages (a *.dist-info with RECORD in the tree) are still
    # attributed to their distribution, so findings name who shipped a bad file.
    owner = _owners(read_distributions(src))
    out: list[Entry] = []
    # Directory symlinks are followed (users link shared code into a function), but
    # each real directory is visited once, so a link cycle cannot loop forever.
    visited: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(src, followlinks=True):
        here = Path(dirpath)
        real = here.resolve()
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        rel_dir = PurePosixPath(here.relative_to(src).as_posix()) if here != src else PurePosixPath()
        keep_dirs = []
        for d in dirnames:
            rel = rel_dir / d
            full = here / d
            if _excluded(rel, patterns) or (full / "pyvenv.cfg").exists():
                continue
            if exclude_tests and rel_dir == PurePosixPath() and d in TEST_DIRS:
                continue
            if full.resolve() in skip:
                continue
            keep_dirs.append(d)
        dirnames[:] = sorted(keep_dirs)
        for f in sorted(filenames):
            rel = rel_dir / f
            full = here / f
            if _excluded(rel, patterns) or full.resolve() in skip:
                continue
            try:
                st = full.stat()  # follows a file symlink: its content is shipped
            except OSError:
                continue  # dangling symlink
            if not stat.S_ISREG(st.st_mode):
                continue
            dist = owner.get(os.path.normpath(str(rel)))
            out.append(Entry(prefix + rel.as_posix(), full, _executable(st), st.st_size, dist))
    return out


def _owners(distributions: Sequence[Distribution]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for d in distributions:
        label = f"{d.display_name} {d.version}"
        for f in d.files:
            owner[os.path.normpath(f)] = label
        owner[d.dist_info] = label
    return owner


def is_installer_leftover(rel: PurePosixPath) -> bool:
    """Files an installer leaves in --target that must not reach Lambda."""
    top = rel.parts[0]
    if top in ("bin", ".lock"):
        return True  # console scripts with this machine's shebang; uv's lock file
    if "__pycache__" in rel.parts or rel.suffix in (".pyc", ".pyo"):
        return True  # compiled by/for the build machine's Python
    return False


def filtered_record(text: str) -> str:
    """RECORD without the lines of files we do not ship (bin/ scripts, caches).

    Console scripts carry this machine's interpreter path in their shebang, so their
    hashes in RECORD differ between machines; dropping them keeps the zip reproducible
    and RECORD truthful about what is in it.
    """
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text)):
        if row and is_installer_leftover(PurePosixPath(os.path.normpath(row[0]).replace(os.sep, "/"))):
            continue
        writer.writerow(row)
    return out.getvalue()


def dependency_entries(
    site: Path, distributions: Sequence[Distribution], *, prefix: str = "", work: Path | None = None
) -> list[Entry]:
    """Installed files under `site`, each attributed to its distribution via RECORD.

    RECORD files are rewritten (into `work`, never in place: uv may hard-link from its cache).
    """
    owner = _owners(distributions)
    out: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(site):
        dirnames.sort()
        here = Path(dirpath)
        for f in sorted(filenames):
            full = here / f
            rel = PurePosixPath(full.relative_to(site).as_posix())
            if is_installer_leftover(rel):
                continue
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                st = full.stat()
            if not stat.S_ISREG(st.st_mode):
                continue
            dist = owner.get(os.path.normpath(str(rel)))
            if dist is None:
                top = rel.parts[0]
                dist = owner.get(top) or next(
                    (lbl for path, lbl in owner.items() if path.startswith(top + os.sep)), top
                )
            if work is not None and rel.name == "RECORD" and rel.parent.name.endswith(".dist-info"):
                original = full.read_text(encoding="utf-8", errors="surrogateescape")
                text = filtered_record(original)
                if text != original:
                    full = work / "records" / rel.parent.name / "RECORD"
                    full.parent.mkdir(parents=True, exist_ok=True)
                    full.write_text(text, encoding="utf-8", errors="surrogateescape")
                    st = full.stat()
            out.append(Entry(prefix + rel.as_posix(), full, _executable(st), st.st_size, dist))
    return out
