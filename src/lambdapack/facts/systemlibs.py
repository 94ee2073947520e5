"""Which shared libraries an ELF in a Lambda artifact can find at load time.

:func:`system_sonames` is the set of sonames that Lambda's Python runtime
provides for an Amazon Linux version: system libraries in ``/lib64`` (=
``/usr/lib64``) plus the runtime's own ``/var/lang/lib`` (``libpython3.X.so.1.0``).
The data, its sources and its confidence notes live in
``lambdapack/data/amazonlinux.json``; ``scripts/collect_al_libs.sh`` regenerates
it from the real images.

:func:`resolve_needed` replays the dynamic loader's search for each DT_NEEDED
entry of one ELF, against the files of the merged artifact (function under
``/var/task``, layers under ``/opt``) and that soname set. It is pure: no
file system access. The search order follows ld.so(8):

1. DT_RPATH, only when the object has no DT_RUNPATH;
2. ``LD_LIBRARY_PATH`` as Lambda sets it (from the data file);
3. DT_RUNPATH;
4. ``extra_dirs`` not already searched (by default all are in Lambda's
   ``LD_LIBRARY_PATH``; pass more to model e.g. a user-set path);
5. the system: the soname list (ld.so.cache and ``/lib64``, ``/usr/lib64``).

``$ORIGIN``/``${ORIGIN}`` expand to the ELF's directory and ``$LIB``/``${LIB}``
to ``lib64`` (Amazon Linux on both x86_64 and arm64). Relative or empty search
entries and relative DT_NEEDED paths are relative to the process's working
directory, which on Lambda is ``/var/task``. A DT_NEEDED entry containing ``/``
is a path and is not searched for. Simplifications: RPATHs of the loading
objects (the interpreter and the objects that pulled this one in) are not
consulted, and ``$PLATFORM`` is left unexpanded (such a path never matches).
"""

from __future__ import annotations

import functools
import json
import posixpath
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = [
    "DEFAULT_EXTRA_DIRS",
    "LAMBDA_CWD",
    "LinkedFile",
    "Unresolved",
    "known_systems",
    "lambda_ld_library_path",
    "resolve_needed",
    "system_sonames",
]

LAMBDA_CWD = "/var/task"
DEFAULT_EXTRA_DIRS: tuple[str, ...] = ("/var/task/lib", "/opt/lib", "/var/lang/lib", "/lib64", "/usr/lib64")

_DATA_FILE = "amazonlinux.json"


@functools.cache
def _data() -> Mapping[str, Any]:
    text = (resources.files("lambdapack") / "data" / _DATA_FILE).read_text(encoding="utf-8")
    loaded = json.loads(text)
    if not isinstance(loaded, dict) or loaded.get("version") != 1:
        raise RuntimeError(f"lambdapack/data/{_DATA_FILE}: unsupported format")
    return loaded


def known_systems() -> tuple[str, ...]:
    """The Amazon Linux versions the data describes (``Runtime.os`` values)."""
    return tuple(sorted(_data()["systems"]))


@functools.cache
def system_sonames(os_name: str) -> frozenset[str]:
    """Sonames present on Lambda's Python runtime for ``os_name`` (``"Amazon Linux 2"``,
    ``"Amazon Linux 2023"``): system libraries plus ``/var/lang/lib``'s runtime libraries.

    A union over x86_64 and arm64 (the two loaders, ``libmvec.so.1`` only on x86_64).
    Raises ValueError for an unknown ``os_name``.
    """
    systems: Mapping[str, Any] = _data()["systems"]
    try:
        system = systems[os_name]
    except KeyError:
        raise ValueError(
            f"unknown Amazon Linux version {os_name!r}; known: {', '.join(sorted(systems))}"
        ) from None
    names = [*system["sonames"], *system.get("runtime_sonames", ())]
    return frozenset(str(n) for n in names)


@functools.cache
def lambda_ld_library_path() -> tuple[str, ...]:
    """Lambda's ``LD_LIBRARY_PATH``, in order (AWS docs, "Defined runtime environment variables")."""
    return tuple(str(d) for d in _data()["ld_library_path"]["value"])


@functools.cache
def _system_dirs() -> frozenset[str]:
    return frozenset(str(d) for d in _data()["system_dirs"]["value"])


@dataclass(frozen=True)
class Unresolved:
    """A DT_NEEDED library the loader would not find on Lambda."""

    library: str  # the DT_NEEDED string, as written in the ELF
    searched: tuple[str, ...]  # directories tried, in order, as absolute Lambda paths


def _expand(entry: str, origin: str) -> str:
    for token, value in (("${ORIGIN}", origin), ("$ORIGIN", origin), ("${LIB}", "lib64"), ("$LIB", "lib64")):
        entry = entry.replace(token, value)
    return _normalise(entry)


def _normalise(path: str) -> str:
    if not path.startswith("/"):
        path = posixpath.join(LAMBDA_CWD, path)
    path = posixpath.normpath(path)
    # normpath keeps a leading "//" (POSIX leaves it implementation-defined); Linux does not.
    return "/" + path.lstrip("/")


@dataclass(frozen=True)
class LinkedFile:
    """What the loader's search depends on in one ELF: where it is and its dynamic section."""

    path: str  # its absolute Lambda path ($ORIGIN is its directory)
    needed: Sequence[str]  # DT_NEEDED, in order
    rpath: Sequence[str] = ()  # DT_RPATH entries, already split on ":"
    runpath: Sequence[str] = ()  # DT_RUNPATH entries, already split on ":"


def resolve_needed(
    elf: LinkedFile,
    available: Collection[str],
    os_name: str,
    extra_dirs: Sequence[str] = DEFAULT_EXTRA_DIRS,
) -> list[Unresolved]:
    """The DT_NEEDED entries of the ELF at Lambda path ``elf.path`` that would not load.

    ``available`` holds the absolute, normalised Lambda paths of every file
    in the merged artifact; ``os_name`` is ``Runtime.os``. A library counts as found
    when ``<dir>/<name>`` is in ``available`` for a searched directory, or when its
    name is one of :func:`system_sonames`. Each unresolved name is reported once, in
    DT_NEEDED order, with the directories that were searched for it.
    """
    system = system_sonames(os_name)
    system_dirs = _system_dirs()
    origin = posixpath.dirname(_normalise(elf.path))
    rpath, runpath = elf.rpath, elf.runpath

    dirs: list[str] = []
    if not runpath:
        dirs.extend(_expand(d, origin) for d in rpath)
    dirs.extend(lambda_ld_library_path())
    dirs.extend(_expand(d, origin) for d in runpath)
    dirs.extend(_normalise(d) for d in extra_dirs)
    search = tuple(dict.fromkeys(dirs))  # ld.so tries a repeated directory once

    unresolved: list[Unresolved] = []
    seen: set[str] = set()
    for name in elf.needed:
        if name in seen:
            continue
        seen.add(name)
        if "/" in name:
            path = _expand(name, origin)
            directory, base = posixpath.split(path)
            if path not in available and not (directory in system_dirs and base in system):
                unresolved.append(Unresolved(name, (directory,)))
            continue
        if name in system:
            continue
        if not any(posixpath.join(d, name) in available for d in search):
            unresolved.append(Unresolved(name, search))
    return unresolved
