"""Extension modules that packages import only when asked, and do without otherwise.

Some wheels ship an extension module linked against a library that neither the wheel
nor Amazon Linux provides, because the package loads that module only on request and
falls back to another when it cannot. Such a missing library is not a broken build:
LP007 reports it as a warning saying what the package does without it (every other
missing library stays an error). Each entry names the module exactly (its dotted
import name and its distribution) and the exact DT_NEEDED names that are optional.

numba (source, read 2026-12): https://numba.readthedocs.io/en/stable/user/threading-layer.html
("In practice, the only threading layer guaranteed to be present is workqueue ... The
default manner in which Numba searches for and loads a threading layer is tolerant of
missing libraries"), and numba/np/ufunc/parallel.py, ``_launch_threads``: with the
default ``NUMBA_THREADING_LAYER`` it tries ``tbbpool``, then ``omppool``, then
``workqueue``, each import inside ``try/except ImportError``. The DT_NEEDED names are
those of numba 0.60.0 and 0.68.1 on x86_64 and aarch64 (aarch64 ships no tbbpool). Checked on numba 0.68.1
(python3.12 x86_64): with libgomp hidden and no libtbb, a ``@njit(parallel=True)``
function runs and ``numba.threading_layer()`` is ``"workqueue"``; only an explicit
``NUMBA_THREADING_LAYER=omp`` (or ``tbb``, ``safe``, ``threadsafe``) then fails, with
"No threading layer could be loaded".
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lambdapack.facts.layout import module_name

__all__ = ["OPTIONAL_MODULES", "OptionalModule", "optional_library"]


@dataclass(frozen=True)
class OptionalModule:
    """One extension module whose listed libraries may be missing."""

    module: str  # dotted import name, e.g. "numba.np.ufunc.omppool"
    distribution: str  # canonical (PEP 503) name of the distribution that ships it
    libraries: tuple[str, ...]  # DT_NEEDED names that may be missing (any other may not)
    what: str  # what the module is, for the message
    without: str  # what the package does when it cannot load
    source: str  # where that behaviour is documented


_NUMBA_THREADING = "https://numba.readthedocs.io/en/stable/user/threading-layer.html"

OPTIONAL_MODULES: tuple[OptionalModule, ...] = (
    OptionalModule(
        "numba.np.ufunc.omppool", "numba", ("libgomp.so.1.0.0",),
        "numba's OpenMP threading layer",
        "numba uses its TBB or workqueue threading layer instead (NUMBA_THREADING_LAYER=omp would fail)",
        _NUMBA_THREADING,
    ),
    OptionalModule(
        "numba.np.ufunc.tbbpool", "numba", ("libtbb.so.12",),
        "numba's TBB threading layer",
        "numba uses its OpenMP or workqueue threading layer instead (NUMBA_THREADING_LAYER=tbb would fail)",
        _NUMBA_THREADING,
    ),
)

_BY_MODULE = {m.module: m for m in OPTIONAL_MODULES}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dotted(path: str, sys_path: Sequence[str]) -> str | None:
    """The import name of the extension module at Lambda path ``path``, or None."""
    name = module_name(posixpath.basename(path)) if path.endswith(".so") else None
    for entry in sys_path:
        prefix = entry.rstrip("/") + "/"
        if name is not None and path.startswith(prefix):
            parts = path[len(prefix):].split("/")[:-1]
            if all(p.isidentifier() for p in parts):
                return ".".join([*parts, name])
    return None


def optional_library(
    path: str, sys_path: Sequence[str], distribution: str | None, library: str
) -> OptionalModule | None:
    """The entry that makes DT_NEEDED ``library`` of the file at Lambda path ``path`` optional,
    or None. ``distribution`` is its owner ("numba 0.68.1"; the version is ignored): an
    unknown owner (None) matches, a different one does not."""
    entry = _BY_MODULE.get(_dotted(path, sys_path) or "")
    if entry is None or library not in entry.libraries:
        return None
    if distribution is not None and _canonical(distribution.split()[0]) != entry.distribution:
        return None
    return entry
