"""poetry.lock, read directly (never running Poetry): the main group's pins with their hashes.

Lock format 2.1 (Poetry 2) names each package's groups and markers, so it is read as it is;
older formats (Poetry 1.x) are walked from the pyproject's `[tool.poetry.dependencies]` along
each package's dependencies, the markers of a path joined. Dev and other groups stay out;
optional packages come in only through a requested extra. A lock whose `content-hash` no
longer matches pyproject.toml (computed exactly as Poetry's `Locker._get_content_hash`) is an error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lambdapack.errors import InputError
from lambdapack.resolve.inputs import Requirements
from lambdapack.resolve.lockfiles import NEVER, Pin, locked_requirements, reduce_marker
from lambdapack.resolve.pyprojectfile import read_toml

__all__ = ["content_hash", "poetry_extra_names", "poetry_pins", "read_poetry_lock", "stale_reason"]

# Poetry's Locker: the pyproject keys its content-hash covers.
_LEGACY_KEYS = ("dependencies", "source", "extras", "dev-dependencies")
_RELEVANT_KEYS = (*_LEGACY_KEYS, "group")
_PROJECT_KEYS = ("requires-python", "dependencies", "optional-dependencies")
_HINT = "run `poetry lock` to update it (or pass -r with an exported requirements.txt)"


def content_hash(pyproject: Mapping[str, Any], *, with_dependency_groups: bool = True) -> str:
    """Poetry's `Locker._get_content_hash` over a pyproject's table (pure; poetry 2.5)."""
    project = pyproject.get("project", {})
    groups = pyproject.get("dependency-groups", {}) if with_dependency_groups else {}
    poetry = pyproject.get("tool", {}).get("poetry", {})
    relevant_project = {k: project[k] for k in _PROJECT_KEYS if project.get(k) is not None}
    relevant_poetry = {}
    for key in _RELEVANT_KEYS:
        data = poetry.get(key)
        if data is None and (key not in _LEGACY_KEYS or relevant_project or groups):
            continue
        relevant_poetry[key] = data
    content: dict[str, Any] = {}
    if relevant_project:
        content["project"] = relevant_project
    if groups:
        content["dependency-groups"] = groups
    if content:
        content["tool"] = {"poetry": relevant_poetry}
    else:
        content = relevant_poetry  # Poetry's legacy layout: [tool.poetry]'s keys at the top
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def stale_reason(lock: Mapping[str, Any], first_line: str, pyproject: Mapping[str, Any]) -> str | None:
    """Why Poetry would call the lock out of date with `pyproject` (its `is_fresh`), or None."""
    recorded = lock.get("metadata", {}).get("content-hash")
    if not isinstance(recorded, str):
        return "it records no content-hash"
    if recorded == content_hash(pyproject):
        return None
    m = re.search(r"Poetry ([^ ]+)", first_line)
    if m and _before_2_3(m.group(1)) and recorded == content_hash(pyproject, with_dependency_groups=False):
        return None  # written before Poetry 2.3, whose hash left [dependency-groups] out
    return "its content-hash does not match pyproject.toml"


def _before_2_3(version: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) < Version("2.3.0")
    except InvalidVersion:
        return False


def read_poetry_lock(lock: Path, extras: tuple[str, ...], out: Path, *, frozen: bool = False) -> Requirements:
    """poetry.lock (with its pyproject.toml) as pinned, hashed requirements written to `out`;
    `frozen` (--frozen) takes it as it is, without the content-hash check."""
    pyproject_path = lock.with_name("pyproject.toml")
    if not pyproject_path.is_file():
        raise InputError(f"{lock} has no pyproject.toml beside it; the lock alone does not say what the "
                         "project requires", "pass the project's poetry.lock, next to its pyproject.toml")
    data, pyproject = read_toml(lock), read_toml(pyproject_path)
    with lock.open(encoding="utf-8", errors="replace") as f:
        first = f.readline()
    why = None if frozen else stale_reason(data, first, pyproject)
    if why is not None:
        raise InputError(f"{lock} is out of date with pyproject.toml ({why})", _HINT)
    pins, indexes = poetry_pins(data, pyproject, extras, lock.parent)
    return locked_requirements(lock, pins, extras, out, [f"--extra-index-url {u}" for u in indexes])


def poetry_pins(
    data: Mapping[str, Any], pyproject: Mapping[str, Any], extras: tuple[str, ...], base: Path
) -> tuple[list[Pin], list[str]]:
    """The pins of the main group and requested extras, and the extra indexes they come from (pure)."""
    _check_extras(data, pyproject, extras)
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise InputError("poetry.lock has no [[package]] array", _HINT)
    version = str(data.get("metadata", {}).get("lock-version", "1.0"))
    if _version_tuple(version) >= (2, 1):
        chosen = _grouped(packages, frozenset(extras))
    else:
        from lambdapack.resolve.poetrywalk import walk

        chosen = walk(packages, pyproject, data.get("extras", {}), frozenset(extras))
    pins, indexes = [], []
    for pkg, marker in chosen:
        pin, index = _pin(pkg, marker, base)
        pins.append(pin)
        if index and index not in indexes:
            indexes.append(index)
    return pins, indexes


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def poetry_extra_names(lock: Path) -> tuple[str, ...]:
    """Every extra the lock or its pyproject.toml defines (--all-extras)."""
    pyproject = lock.with_name("pyproject.toml")
    data: dict[str, Any] = read_toml(lock)
    project: dict[str, Any] = read_toml(pyproject) if pyproject.is_file() else {}
    known = set(data.get("extras", {}) or {})
    known |= set(project.get("project", {}).get("optional-dependencies", {}))
    known |= set(project.get("tool", {}).get("poetry", {}).get("extras", {}))
    return tuple(sorted(known))


def _check_extras(data: Mapping[str, Any], pyproject: Mapping[str, Any], extras: tuple[str, ...]) -> None:
    known = set(data.get("extras", {}))
    known |= set(pyproject.get("project", {}).get("optional-dependencies", {}))
    known |= set(pyproject.get("tool", {}).get("poetry", {}).get("extras", {}))
    for extra in extras:
        if extra not in known:
            raise InputError(f"poetry.lock has no extra {extra!r} (extras: {', '.join(sorted(known)) or 'none'})")


def _grouped(packages: list[dict[str, Any]], extras: frozenset[str]) -> list[tuple[dict[str, Any], str | None]]:
    """Lock format 2.1: the packages of the main group, with the main group's marker."""
    out = []
    for pkg in packages:
        if "main" not in pkg.get("groups", []):
            continue
        marker = pkg.get("markers")
        if isinstance(marker, dict):
            marker = marker.get("main")
        reduced = reduce_marker(marker, extras)
        if reduced != NEVER:
            out.append((pkg, reduced))
    return out


def _pin(pkg: Mapping[str, Any], marker: str | None, base: Path) -> tuple[Pin, str | None]:
    """One package entry as a pin, and the legacy index it was locked from (if any)."""
    name, version = str(pkg.get("name", "")), str(pkg.get("version", ""))
    if not name or not version:
        raise InputError(f"poetry.lock has a [[package]] without a name or version ({name or version!r})", _HINT)
    hashes = tuple(str(f["hash"]) for f in pkg.get("files", []) if isinstance(f, dict) and f.get("hash"))
    source = pkg.get("source") or {}
    kind, url = source.get("type"), source.get("url")
    if kind in (None, "legacy"):
        return Pin(name, version, marker, hashes), url if kind == "legacy" else None
    if kind in ("directory", "file"):
        return Pin(name, None, marker, (), (base / str(url)).resolve().as_uri()), None
    if kind == "git":
        ref = source.get("resolved_reference") or source.get("reference")
        sub = f"#subdirectory={source['subdirectory']}" if source.get("subdirectory") else ""
        return Pin(name, None, marker, (), f"git+{url}{'@' + ref if ref else ''}{sub}"), None
    if kind == "url":
        return Pin(name, None, marker, hashes, str(url)), None
    raise InputError(f"poetry.lock: {name} comes from a source of type {kind!r}, which lambdapack cannot read",
                     "export the lock (`poetry export -f requirements.txt`) and pass it with -r")
