"""pylock.toml (PEP 751): every `[[packages]]` entry whose marker holds, pinned with the
hashes of its wheels and sdist; `'x' in extras` / `'g' in dependency_groups` markers are decided
from the requested extras and the lock's `default-groups`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from lambdapack.errors import InputError, UsageError
from lambdapack.resolve.inputs import Requirements
from lambdapack.resolve.lockfiles import NEVER, Pin, locked_requirements, reduce_marker
from lambdapack.resolve.pyprojectfile import read_toml

__all__ = ["pylock_extra_names", "pylock_pins", "read_pylock"]

_HINT = "regenerate it (e.g. `uv export --format pylock.toml -o pylock.toml`)"
PYPI_SIMPLE = "https://pypi.org/simple"


def pylock_extra_names(lock: Path) -> tuple[str, ...]:
    """Every extra the lock declares (--all-extras)."""
    return tuple(sorted({str(e) for e in cast("list[object]", read_toml(lock).get("extras", []))}))


def read_pylock(lock: Path, extras: tuple[str, ...], out: Path, groups: tuple[str, ...] = ()) -> Requirements:
    """`groups` (--group) are taken besides the lock's `default-groups`."""
    data = read_toml(lock)
    version = str(data.get("lock-version", ""))
    if not version.startswith("1."):
        raise InputError(f"{lock}: lock-version {version or '(missing)'!r} is not a PEP 751 lock version 1.x",
                         _HINT)
    known = {str(e) for e in cast("list[object]", data.get("extras", []))}
    for extra in extras:
        if extra not in known:
            raise InputError(f"{lock} has no extra {extra!r} (extras: {', '.join(sorted(known)) or 'none'})")
    # PEP 751's `dependency-groups` (optional) lists the groups the lock supports.
    defined = {str(g) for g in cast("list[object]", data.get("dependency-groups", []))}
    for group in groups:
        if "dependency-groups" in data and group not in defined:
            raise UsageError(f"--group {group}: {lock} has no dependency group {group!r} "
                             f"(defined: {', '.join(sorted(defined)) or 'none'})", "pass one of the defined names")
    pins, indexes = pylock_pins(data, extras, lock.parent, groups)
    reqs = locked_requirements(lock, pins, extras, out, [f"--extra-index-url {u}" for u in indexes])
    return dataclasses.replace(reqs, groups=groups)


def pylock_pins(data: Mapping[str, Any], extras: tuple[str, ...], base: Path,
                requested: tuple[str, ...] = ()) -> tuple[list[Pin], list[str]]:
    """The packages to install and the non-PyPI indexes they name (pure)."""
    groups = frozenset(map(str, data.get("default-groups", []))) | frozenset(requested)
    pins, indexes = [], []
    for pkg in data.get("packages", []):
        if not isinstance(pkg, dict) or not pkg.get("name"):
            raise InputError("pylock.toml has a [[packages]] entry without a name", _HINT)
        marker = reduce_marker(pkg.get("marker"), frozenset(extras), groups)
        if marker == NEVER:
            continue
        pins.append(_pin(pkg, marker, base))
        index = pkg.get("index")
        if isinstance(index, str) and index.rstrip("/") != PYPI_SIMPLE and index not in indexes:
            indexes.append(index)
    return pins, indexes


def _hashes(files: list[Any]) -> tuple[str, ...]:
    out = []
    for f in files:
        for algo, value in (f.get("hashes", {}) if isinstance(f, dict) else {}).items():
            out.append(f"{algo}:{value}")
    return tuple(out)


def _pin(pkg: Mapping[str, Any], marker: str | None, base: Path) -> Pin:
    name = str(pkg["name"])
    if "vcs" in pkg:
        vcs = pkg["vcs"]
        where = vcs.get("url") or (base / str(vcs.get("path", ""))).resolve().as_uri()
        sub = f"#subdirectory={vcs['subdirectory']}" if vcs.get("subdirectory") else ""
        return Pin(name, None, marker, (), f"{vcs.get('type', 'git')}+{where}@{vcs.get('commit-id')}{sub}")
    if "directory" in pkg:  # built as a wheel, never editable
        return Pin(name, None, marker, (), (base / str(pkg["directory"]["path"])).resolve().as_uri())
    if "archive" in pkg:
        arc = pkg["archive"]
        where = arc.get("url") or (base / str(arc.get("path", ""))).resolve().as_uri()
        return Pin(name, None, marker, _hashes([arc]), str(where))
    files = [*pkg.get("wheels", []), *([pkg["sdist"]] if "sdist" in pkg else [])]
    if not pkg.get("version"):
        raise InputError(f"pylock.toml: {name} has no version, wheels or source to install from", _HINT)
    return Pin(name, str(pkg["version"]), marker, _hashes(files))
