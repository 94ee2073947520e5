"""The installed distributions: what a site-packages directory holds, read from its
.dist-info directories (METADATA, WHEEL tags, RECORD), and what the install left out.

Pure reading, no uv: the resolver, the stager and the inspector all read it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from lambdapack.target.tags import Target

if TYPE_CHECKING:
    from packaging.markers import Marker
    from packaging.requirements import Requirement

__all__ = ["Distribution", "missing_requirements", "native_builds", "read_distributions", "record_paths"]


@dataclass(frozen=True)
class Distribution:
    name: str  # canonical name
    display_name: str
    version: str
    tags: tuple[str, ...]  # from WHEEL
    dist_info: str  # relative path of the .dist-info directory
    files: tuple[str, ...]  # relative paths from RECORD (as installed)
    # sha256 of RECORD, which hashes every file: a wheel built here from a local package keeps
    # its name and version across edits, so only this tells its builds apart ("" when not read).
    record_sha256: str = ""

    @property
    def is_pure(self) -> bool:
        return all(t.endswith("-any") for t in self.tags)


def read_distributions(site: Path) -> list[Distribution]:
    """Every *.dist-info directly under `site`: name, version, wheel tags, files."""
    dists = []
    for info in sorted(site.glob("*.dist-info")):
        meta_path = info / "METADATA"
        if not meta_path.is_file():
            continue
        from email.parser import HeaderParser  # only when there is metadata: fast no-change builds

        meta = HeaderParser().parsestr(meta_path.read_text(encoding="utf-8", errors="replace"))
        wheel = info / "WHEEL"
        tags: list[str] = []
        if wheel.is_file():
            wmeta = HeaderParser().parsestr(wheel.read_text(encoding="utf-8", errors="replace"))
            tags = wmeta.get_all("Tag") or []
        files: list[str] = []
        record = info / "RECORD"
        record_sha = ""
        if record.is_file():
            data = record.read_bytes()
            record_sha = hashlib.sha256(data).hexdigest()
            files = record_paths(data.decode("utf-8", errors="replace"))
        name = meta.get("Name", info.name.split("-")[0])
        dists.append(
            Distribution(
                name=canonicalize_name(name),
                display_name=name,
                version=meta.get("Version", "?"),
                tags=tuple(tags),
                dist_info=info.name,
                files=tuple(files),
                record_sha256=record_sha,
            )
        )
    return dists


def record_paths(text: str) -> list[str]:
    """The paths a RECORD lists. RECORD is CSV: a path holding a comma is quoted."""
    import csv
    import io

    return [row[0] for row in csv.reader(io.StringIO(text)) if row and row[0]]


def missing_requirements(
    requested: Sequence[Requirement], installed: Sequence[Distribution], target: Target
) -> list[Requirement]:
    """Requested for the target (marker true there) but not installed: never silent."""
    names = {d.name for d in installed}
    env = target.marker_environment
    missing = []
    for req in requested:
        if req.marker is not None and not _marker_true(req.marker, env):
            continue
        if canonicalize_name(req.name) not in names:
            missing.append(req)
    return missing


def _marker_true(marker: Marker, env: dict[str, str]) -> bool:
    return marker.evaluate({**env, "extra": ""})


def native_builds(installed: Sequence[Distribution]) -> list[Distribution]:
    """Distributions whose wheel was built here from an sdist for a real platform.

    PyPI refuses `linux_*` wheels, so such a tag means a local build of native code,
    compiled for this machine, not for Lambda.
    """
    return [
        d
        for d in installed
        if any(re.search(r"-(linux|macosx|win)[_\w]*$", t) and "manylinux" not in t for t in d.tags)
    ]
