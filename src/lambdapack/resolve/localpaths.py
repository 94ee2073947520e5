"""Local path requirements (`./pkg`, `-e ./pkg`, `file:///abs/pkg`, `name @ file:...`): the user's
own code, which the build turns into wheels itself. Which lines name a directory, the lines that
replace them with the built wheels, and a stamp of each directory's files for the no-change key."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from lambdapack.errors import InputError
from lambdapack.resolve.requirementsfile import (
    INCLUDE_LINE,
    absolute_includes,
    logical_lines,
    read_text_file,
    split_line_options,
)

__all__ = [
    "absolute_local_paths",
    "file_url_path",
    "local_directories",
    "local_directory",
    "local_tree_stamps",
    "with_built_wheels",
]

_EDITABLE = re.compile(r"^(?:-e|--editable)(?:\s+|\s*=\s*)")
_EXTRAS = re.compile(r"(\[[^\]]*\])$")


def file_url_path(url: str) -> Path:
    """The local path a `file:` URL names."""
    # Imported here: urllib.request brings http.client, email and ssl (~30 ms), which a build
    # from PyPI alone never needs.
    from urllib.request import url2pathname

    return Path(url2pathname(urlsplit(url).path))


def local_directory(location: str) -> Path | None:
    """A find-links location that is a local directory (a path or a file:// URL), else None."""
    path = file_url_path(location) if location.startswith("file:") else Path(location)
    return path if path.is_dir() else None


def _local_directory(line: str, cwd: Path) -> tuple[Path, str] | None:
    """The local directory a requirement line names (`./pkg`, `-e ./pkg`, `file:///abs/pkg`,
    `name @ file:///abs/pkg`), and what goes before the wheel in the line that replaces it (a
    name and its extras, `name[x] @ `) or after it (`[x]`); relative paths mean `cwd`, as for uv."""
    if line.startswith("-") and not _EDITABLE.match(line):
        return None  # an option line (-r, --index-url, ...): uv's business
    req = split_line_options(_EDITABLE.sub("", line, count=1))[0].split(";")[0].strip()
    named, _, where = req.rpartition(" @ ")
    extras = ""
    m = _EXTRAS.search(where)
    if m is not None and not named:
        where, extras = where[: m.start()], m.group(1)
    if where.startswith("file:"):
        path = file_url_path(where)
    elif where.startswith((".", "/", "~")) or os.sep in where:
        path = Path(where).expanduser()
    else:
        return None
    path = cwd / path
    return (path.resolve(), f"{named.strip()} @ " if named else extras) if path.is_dir() else None


def local_directories(text: str, cwd: Path) -> list[Path]:
    """The local directories `text`'s requirement lines name: the user's own code, which
    lambdapack builds into wheels itself (includes are not followed)."""
    found = (_local_directory(line, cwd) for line in logical_lines(text) if not INCLUDE_LINE.match(line))
    return list(dict.fromkeys(d for d, _ in filter(None, found)))


def absolute_local_paths(text: str, base: Path) -> str:
    """`text` with relative local-directory lines (`./pkg`, as `uv export` writes a workspace
    member) made absolute against `base`, which they mean, not the directory uv runs in."""
    out: list[str] = []
    for line in logical_lines(text):
        found = None if INCLUDE_LINE.match(line) else _local_directory(line, base)
        if found is not None and line.startswith("."):
            token = line.split(None, 1)[0]
            line = f"{found[0]}{found[1]}{line[len(token):]}"  # found[1]: the token's [extras]
        out.append(line)
    return "\n".join(out) + "\n"


def with_built_wheels(text: str, cwd: Path, base: Path, wheels: Mapping[Path, Path]) -> str:
    """`text` with each local-directory line replaced by the wheel built from it (installed
    non-editably, so `-e` goes) and relative includes made absolute against `base` (pure but for
    the directory checks)."""
    out: list[str] = []
    for line in logical_lines(text):
        found = None if INCLUDE_LINE.match(line) else _local_directory(line, cwd)
        if found is not None and found[0] in wheels:
            marker = line.split(";", 1)[1].strip() if ";" in line else ""
            wheel, around = wheels[found[0]], found[1]
            line = f"{around}{wheel.as_uri()}" if around.endswith(" @ ") else f"{wheel}{around}"
            line += f" ; {marker}" if marker else ""
        out.append(line)
    return absolute_includes("\n".join(out) + "\n", base)


# Not the package's sources: version control, caches and build output.
_SKIPPED = {".git", ".hg", "__pycache__", ".venv", "venv", "build", "dist", ".tox", ".mypy_cache", ".pytest_cache"}


def _tree_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            yield Path(dirpath, name)


def _stamp(root: Path) -> str:
    """Each file's path, size and modification time: what `make` trusts, and cheap enough for a
    no-change rebuild (a content hash of a large local package is not)."""
    if root.is_file():  # a packaged project's single module
        st = root.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    parts = []
    for path in _tree_files(root):
        try:
            st = path.stat()
        except OSError:
            continue
        parts.append(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)


def _lock_directories(lock: Path) -> list[Path]:
    """The directories a uv.lock installs from (path, directory and editable members)."""
    from lambdapack.resolve.pyprojectfile import read_toml

    try:
        packages = read_toml(lock).get("package", [])
    except InputError:
        return []  # the build reports an unreadable lock itself
    out: list[Path] = []
    root = lock.parent.resolve()
    for pkg in packages if isinstance(packages, list) else []:
        source = pkg.get("source", {}) if isinstance(pkg, dict) else {}
        for kind in ("directory", "editable", "path"):
            if isinstance(source.get(kind), str) and (lock.parent / source[kind]).is_dir():
                found = (lock.parent / source[kind]).resolve()
                out += _own_package(root) if found == root else [found]
    return out


def _own_package(root: Path) -> list[Path]:
    """The packaged project itself: its package's sources, not the whole root, where the outputs,
    a cache or a virtualenv may live (its loose files are keyed as code, pyproject.toml as input)."""
    from lambdapack.resolve.pyprojectfile import read_toml
    from lambdapack.resolve.uvproject import package_sources

    try:
        found = package_sources(root, read_toml(root / "pyproject.toml"))
    except InputError:
        found = []
    return found or [root]


def local_tree_stamps(kind: str, path: Path | None, text: str | None = None) -> dict[str, str]:
    """A stamp per local directory the dependency input installs from, keyed by its path: a
    requirements file's (or a piped input's `text`) or a uv.lock's path members."""
    dirs: list[Path] = []
    try:
        if kind == "requirements":
            src = text if text is not None else read_text_file(path) if path is not None else ""
            dirs = local_directories(src, Path.cwd())
        elif kind == "lock" and path is not None and path.name == "uv.lock":
            dirs = _lock_directories(path)
    except (OSError, InputError):
        return {}
    return {f"local:{d}": _stamp(d) for d in dirs}
