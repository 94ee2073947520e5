"""What a source distribution says about how it builds, read from the archive without running it.

`read_sdist` is the I/O edge (a .tar.gz or .zip, names and two small files only); `plan` decides:
the build backend (PEP 517's `build-backend`, setuptools' legacy default without one), whether it
is Rust (a Cargo.toml, or maturin / setuptools-rust among the build requirements), and whether
lambdapack can cross-build it for a machine other than the build machine's (setuptools can:
it reads the target's sysconfig; meson-python and scikit-build-core need cross files that are
not written yet, so only a build for the build machine's own architecture is offered there).
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lambdapack.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["SdistFacts", "cross_ready", "read_sdist"]

_LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
_RUST_REQUIRES = ("maturin", "setuptools-rust", "setuptools_rust")
_CROSS_BACKENDS = ("setuptools.build_meta", "setuptools.build_meta:__legacy__")
_MAX_TOML = 1 << 20


@dataclass(frozen=True)
class SdistFacts:
    backend: str
    requires: tuple[str, ...]
    rust: bool


def _root_files(names: list[str]) -> tuple[str | None, bool]:
    """(the top-level pyproject.toml's member name, whether any Cargo.toml is in the archive)."""
    pyproject = None
    cargo = False
    for name in names:
        parts = PurePosixPath(name).parts
        if len(parts) == 2 and parts[1] == "pyproject.toml":
            pyproject = name
        if parts and parts[-1] == "Cargo.toml":
            cargo = True
    return pyproject, cargo


def _read_member(path: Path) -> tuple[bytes | None, bool]:
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            name, cargo = _root_files(z.namelist())
            return (z.read(name)[:_MAX_TOML] if name else None), cargo
    with tarfile.open(path, "r:*") as t:
        members = t.getmembers()
        name, cargo = _root_files([m.name for m in members])
        f = t.extractfile(name) if name else None
        return (f.read(_MAX_TOML) if f is not None else None), cargo


def read_sdist(path: Path) -> SdistFacts:
    """The build facts of the sdist at `path`."""
    try:
        data, cargo = _read_member(path)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, KeyError, EOFError, zlib.error) as e:
        raise InputError(f"reading the source distribution {path.name}: {e}",
                         "the download may be damaged: run again with --refresh") from None
    backend = _LEGACY_BACKEND
    requires: tuple[str, ...] = ("setuptools>=40.8.0",)  # PEP 517's default without a build-system
    if data is not None:
        try:
            system = tomllib.loads(data.decode("utf-8", "replace")).get("build-system", {})
        except tomllib.TOMLDecodeError:
            system = {}
        if isinstance(system, dict):
            backend = str(system.get("build-backend") or _LEGACY_BACKEND)
            req = system.get("requires")
            if isinstance(req, list):
                requires = tuple(str(r) for r in req)
    rust = cargo or any(r.lower().replace("_", "-").startswith(_RUST_REQUIRES) for r in requires)
    return SdistFacts(backend, requires, rust)


def cross_ready(facts: SdistFacts) -> bool:
    """Whether the backend builds for another machine from the target's sysconfig (setuptools)."""
    return facts.backend in _CROSS_BACKENDS
