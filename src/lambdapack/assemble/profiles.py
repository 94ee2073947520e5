"""The slimming profiles (``--slim none|safe|aggressive``) and the rules each applies.

Each profile is an explicit list of rules (:data:`PROFILE_RULES`, shown by ``--help``
and the README); :func:`profile_reason` is those rules applied to one dependency file's
path, by name alone. What was considered and deliberately kept is :data:`NEVER_REMOVED`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Set
from pathlib import PurePosixPath

from lambdapack.assemble.bytecodefit import SUITE_DIRS

__all__ = ["NEVER_REMOVED", "PROFILE_RULES", "SHARED_OBJECT", "Profile", "profile_reason"]


class Profile(enum.Enum):
    NONE = "none"
    SAFE = "safe"
    AGGRESSIVE = "aggressive"


_SAFE_RULES: tuple[str, ...] = (
    "__pycache__/*.pyc and *.pyo that the target's CPython never reads: any cache tag other "
    "than the target's cpython-3XY (other Python versions, PyPy, untagged, *.pyo)",
    "C and C++ sources and headers shipped in wheels: *.c *.cc *.cpp *.cxx *.h *.hh *.hpp *.hxx",
    "Cython sources and declarations: *.pyx *.pxd *.pxi",
    "extension modules for another Python (other cpython-3XY, free-threaded, PyPy) beside the "
    "variant of the same module that the target's CPython loads (same folder and name)",
)
_AGGRESSIVE_RULES: tuple[str, ...] = (
    "test folders of third-party packages: directories named tests or test below a package's "
    "top-level folder (never a top-level package, never your code)",
    "type stubs: *.pyi",
    "documentation and example folders of third-party packages: docs, doc, examples, example "
    "below a package's top-level folder, unless they are Python packages (contain __init__.py; "
    "botocore.docs and boto3.docs are imported at runtime)",
    "debug sections of ELF shared objects (*.so, *.so.*): strip --strip-debug on a copy; the copy "
    "ships only if everything the dynamic loader maps is byte-identical and the exported "
    "symbols (PyInit_*), DT_NEEDED, SONAME and RPATH/RUNPATH are unchanged",
)

PROFILE_RULES: dict[Profile, tuple[str, ...]] = {
    Profile.NONE: (),
    Profile.SAFE: _SAFE_RULES,
    Profile.AGGRESSIVE: _SAFE_RULES + _AGGRESSIVE_RULES,
}

# Considered for `safe` and left out, with the reason (README and --help show these too).
NEVER_REMOVED: tuple[str, ...] = (
    "*.dist-info folders: packages read their own version and entry points with importlib.metadata",
    "bytecode for the target's Python (__pycache__/*.cpython-3XY*.pyc): it saves compile time at "
    "every cold start on Lambda's read-only file system",
    "sourceless *.pyc outside __pycache__: it may be the module itself",
    "*.pyi in `safe`: some packages read stubs as data at runtime (mypy's and jedi's typeshed)",
    "py.typed: an empty marker file, removing it saves nothing",
    "non-cache files inside __pycache__ (numba's *.nbi/*.nbc caches are read at runtime)",
)

_C_SOURCES = frozenset({".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx"})
_CYTHON_SOURCES = frozenset({".pyx", ".pxd", ".pxi"})
_DOC_DIRS = frozenset({"docs", "doc", "examples", "example"})
SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")  # strip candidates (aggressive)


def _foreign_bytecode(rel: PurePosixPath, cache_tag: str) -> bool:
    if len(rel.parts) < 2 or rel.parts[-2] != "__pycache__" or rel.suffix not in (".pyc", ".pyo"):
        return False
    if rel.suffix == ".pyo":
        return True  # PEP 488: Python 3.5+ never reads .pyo
    parts = rel.name.split(".")  # module . tag [. opt-N] . pyc
    if len(parts) == 3:
        return parts[1] != cache_tag
    if len(parts) == 4 and re.fullmatch(r"opt-\d+", parts[2]):
        return parts[1] != cache_tag
    return True  # any other name is never looked up by the import system


def profile_reason(
    rel: PurePosixPath, profile: Profile, cache_tag: str, package_dirs: Set[str]
) -> str | None:
    """Why `profile` leaves out the file at `rel` (below the site root), or None.

    `cache_tag` is the target's ("cpython-312"); `package_dirs` are the folders that are
    (or contain) regular packages, never removed as documentation.
    """
    if profile is Profile.NONE:
        return None
    if _foreign_bytecode(rel, cache_tag):
        return f"bytecode the target never reads (it reads {cache_tag} only)"
    suffix = rel.suffix.lower()
    if suffix in _C_SOURCES:
        return "C/C++ source or header"
    if suffix in _CYTHON_SOURCES:
        return "Cython source"
    if profile is not Profile.AGGRESSIVE:
        return None
    dirs = rel.parts[1:-1]  # folders below the top-level one
    for i, d in enumerate(dirs, start=1):
        if d in SUITE_DIRS:  # the same folders whose modules are never compiled
            return f"test folder {'/'.join(rel.parts[: i + 1])}/"
        if d in _DOC_DIRS:
            folder = "/".join(rel.parts[: i + 1])
            if folder not in package_dirs:
                return f"{d} folder {folder}/"
    if suffix == ".pyi":
        return "type stub"
    return None
