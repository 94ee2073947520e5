"""Which shared libraries an ELF in a Lambda artifact can find at load time.

:func:`system_sonames` is the set of sonames that Lambda's Python runtime
provides for an Amazon Linux version: system libraries in ``/lib64`` (=
``/usr/lib64``) plus the runtime's own ``/var/lang/lib`` (``libpython3.X.so.1.0``).
The data, its sources and its confidence notes live in
``lambdapack/data/amazonlinux.json``; ``scripts/collect_al_libs.sh`` regenerates
it from the real images.

:func:`search_path` is the dynamic loader's search for a DT_NEEDED entry, and
:func:`find_library` / :func:`needed_path` where it ends, against the files of the
merged artifact (function under ``/var/task``, layers under ``/opt``) and that
soname set; ``inspect.loading`` walks each load with them. Pure: no file system
access. The search order follows ld.so(8):

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
is a path and is not searched for. ``$PLATFORM`` is left unexpanded (such a path
never matches).

:func:`search_path` applies that order to one lookup by an object loaded through a
chain of objects (glibc ``_dl_map_object``): when the object has no DT_RUNPATH,
the DT_RPATH of the object *and of every object that loaded it* comes first (an
object with DT_RUNPATH has its own DT_RPATH ignored, ``get-dynamic-info.h``);
DT_RUNPATH is the object's own only (:func:`inherited_rpath` builds the chain).
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
    "SYSTEM",
    "LinkedFile",
    "Unresolved",
    "expand_entry",
    "find_library",
    "inherited_rpath",
    "known_systems",
    "lambda_ld_library_path",
    "needed_path",
    "search_path",
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


def expand_entry(entry: str, origin: str) -> str:
    """A search entry or DT_NEEDED path of an object in directory ``origin``, as an absolute path."""
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
    soname: str | None = None  # DT_SONAME: a later request by this name finds it loaded

    @property
    def origin(self) -> str:
        """$ORIGIN: the directory the object was loaded from."""
        return posixpath.dirname(_normalise(self.path))


# What find_library returns for a library of the Amazon Linux image.
SYSTEM = "<system>"


def inherited_rpath(obj: LinkedFile, loader_rpath: Sequence[str] = ()) -> tuple[str, ...]:
    """The DT_RPATH directories a lookup by ``obj`` (or by an object it loads) inherits,
    expanded: its own DT_RPATH (ignored when it has DT_RUNPATH), then its loaders'
    (``loader_rpath``, what this function returned for the object that loaded it)."""
    own = () if obj.runpath else tuple(expand_entry(d, obj.origin) for d in obj.rpath)
    return (*own, *loader_rpath)


def search_path(
    obj: LinkedFile, chain_rpath: Sequence[str], extra_dirs: Sequence[str] = DEFAULT_EXTRA_DIRS
) -> tuple[str, ...]:
    """The directories ld.so tries, in order, for a DT_NEEDED name of ``obj`` whose
    inherited RPATH chain is ``chain_rpath`` (:func:`inherited_rpath`)."""
    dirs: list[str] = []
    if not obj.runpath:
        dirs.extend(chain_rpath)
    dirs.extend(lambda_ld_library_path())
    dirs.extend(expand_entry(d, obj.origin) for d in obj.runpath)
    dirs.extend(_normalise(d) for d in extra_dirs)
    return tuple(dict.fromkeys(dirs))  # ld.so tries a repeated directory once


def find_library(name: str, search: Sequence[str], available: Collection[str], system: Collection[str]) -> str | None:
    """Where the lookup of bare ``name`` along ``search`` ends: a path in ``available``,
    :data:`SYSTEM` for a library of the image (its directories hold the soname list,
    and ld.so.cache comes last), or None."""
    system_dirs = _system_dirs()
    in_system = name in system
    for d in search:
        if in_system and d in system_dirs:
            return SYSTEM
        path = posixpath.join(d, name)
        if path in available:
            return path
    return SYSTEM if in_system else None


def needed_path(name: str, obj: LinkedFile, available: Collection[str], system: Collection[str]) -> str | None:
    """Where a DT_NEEDED entry containing ``/`` (a path, not searched for) points:
    a path in ``available``, :data:`SYSTEM`, or None."""
    path = expand_entry(name, obj.origin)
    if path in available:
        return path
    directory, base = posixpath.split(path)
    return SYSTEM if directory in _system_dirs() and base in system else None
