"""Pipfile.lock, read directly (never running pipenv): the `default` section's pins.

`develop` stays out. The lock's `_meta.hash.sha256` is compared with the Pipfile beside it,
hashed as pipenv does (`Pipfile.calculate_hash`, names PEP 503-normalised since pipenv
2026, and plette's `get_hash` before that): a mismatch is a stale lock, an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lambdapack.errors import InputError
from lambdapack.resolve.inputs import Requirements
from lambdapack.resolve.lockfiles import Pin, locked_requirements
from lambdapack.resolve.pyprojectfile import read_toml
from lambdapack.resolve.requirementsfile import read_text_file

__all__ = ["pipfile_hashes", "pipfile_pins", "read_pipfile_lock"]

_HINT = "run `pipenv lock` to update it"
_SECTIONS = ("source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv")
_DEFAULT_SOURCE = [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}]
PYPI_URLS = ("https://pypi.org/simple", "https://pypi.python.org/simple")


def _canon(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def pipfile_hashes(pipfile: Mapping[str, Any]) -> set[str]:
    """The `_meta.hash.sha256` pipenv writes for this Pipfile: today's, and the older unnormalised one."""
    out = set()
    for normalise in (True, False):
        def section(values: Mapping[str, Any], normalise: bool = normalise) -> dict[str, Any]:
            return {_canon(k): v for k, v in values.items()} if normalise else dict(values)

        data: dict[str, Any] = {
            "_meta": {"sources": pipfile.get("source", _DEFAULT_SOURCE), "requires": pipfile.get("requires", {})},
            "default": section(pipfile.get("packages", {})),
            "develop": section(pipfile.get("dev-packages", {})),
        }
        for category, values in pipfile.items():
            if category not in (*_SECTIONS, "default", "develop"):
                data[category] = section(values)
        content = json.dumps(data, sort_keys=True, separators=(",", ":"))
        out.add(hashlib.sha256(content.encode("utf-8")).hexdigest())
    return out


def read_pipfile_lock(lock: Path, extras: tuple[str, ...], out: Path, *, frozen: bool = False) -> Requirements:
    """Pipfile.lock (checked against its Pipfile, when there is one, unless `frozen`: --frozen) as
    pinned, hashed requirements."""
    if extras:
        raise InputError("Pipfile.lock has no extras; --extra applies to pyproject.toml inputs",
                         "leave --extra out (pipenv locks the Pipfile's [packages] as they are)")
    try:
        data = json.loads(read_text_file(lock, "Pipfile.lock"))
    except OSError as e:
        raise InputError(f"cannot read {lock}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{lock} is not valid JSON: {e}", _HINT) from None
    if not isinstance(data, dict) or not isinstance(data.get("default", {}), dict):
        raise InputError(f"{lock} is not a Pipfile.lock (no \"default\" section)", _HINT)
    pipfile = lock.with_name("Pipfile")
    if pipfile.is_file() and not frozen:
        recorded = data.get("_meta", {}).get("hash", {}).get("sha256")
        if recorded not in pipfile_hashes(read_toml(pipfile)):
            raise InputError(f"{lock} is out of date with {pipfile} (its _meta.hash does not match)", _HINT)
    pins, indexes = pipfile_pins(data, lock.parent)
    return locked_requirements(lock, pins, (), out, [f"--extra-index-url {u}" for u in indexes])


def pipfile_pins(data: Mapping[str, Any], base: Path) -> tuple[list[Pin], list[str]]:
    """The `default` section as pins, and the non-PyPI indexes they name (pure)."""
    sources = {s.get("name"): s.get("url") for s in data.get("_meta", {}).get("sources", []) if isinstance(s, dict)}
    pins, indexes = [], []
    for name, entry in sorted(data.get("default", {}).items()):
        if not isinstance(entry, dict):
            raise InputError(f"Pipfile.lock: the entry for {name!r} is not a table", _HINT)
        pins.append(_pin(name, entry, base))
        url = sources.get(entry.get("index"))
        if url and url.rstrip("/") not in PYPI_URLS and url not in indexes:
            indexes.append(url)
    return pins, indexes


def _pin(name: str, entry: Mapping[str, Any], base: Path) -> Pin:
    marker = entry.get("markers") or None
    hashes = tuple(str(h) for h in entry.get("hashes", []))
    extras = f"[{','.join(entry['extras'])}]" if entry.get("extras") else ""
    if "version" in entry:
        version = str(entry["version"])
        if not version.startswith("=="):
            raise InputError(f"Pipfile.lock: {name} is not pinned ({version!r})", _HINT)
        return Pin(name + extras, version[2:], marker, hashes)
    if "git" in entry:
        ref = entry.get("ref")
        sub = f"#subdirectory={entry['subdirectory']}" if entry.get("subdirectory") else ""
        git = str(entry["git"])
        return Pin(name + extras, None, marker, (), f"{git if git.startswith('git+') else 'git+' + git}"
                   f"{'@' + ref if ref else ''}{sub}")
    if "path" in entry:  # installed as a wheel built from it, never editable (Lambda has no site-packages links)
        return Pin(name + extras, None, marker, (), (base / str(entry["path"])).resolve().as_uri())
    if "file" in entry:
        return Pin(name + extras, None, marker, hashes, str(entry["file"]))
    raise InputError(f"Pipfile.lock: cannot read the entry for {name!r} (no version, git, path or file)", _HINT)
