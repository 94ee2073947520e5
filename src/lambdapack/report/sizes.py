"""Size reports: where the bytes of a built zip go, per distribution and per file.

This is the model (`SizeReport`, measured by `size_report`); its renderings live
beside it: the text table (`report.table`), the JSON summary (`report.summary`),
the treemap layout (`report.treemap`) and the HTML page (`report.page`).

Sizes come from the zip's central directory only (`zip_member_sizes`): nothing is
decompressed, so a report of a 250 MB package costs milliseconds.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.facts.layout import pyc_source
from lambdapack.facts.limits import UNZIPPED_BYTES

if TYPE_CHECKING:
    from lambdapack.report.artifact import ArtifactFacts

__all__ = [
    "KINDS",
    "UNOWNED_FUNCTION",
    "UNOWNED_LAYER",
    "DistSize",
    "FileSize",
    "SizeReport",
    "file_kind",
    "size_report",
    "unowned_label",
    "zip_member_sizes",
]

UNOWNED_FUNCTION = "(your code)"
UNOWNED_LAYER = "(no distribution)"
KINDS: tuple[str, ...] = ("native", "python", "bytecode", "data")
_NATIVE_RE = re.compile(r"\.(so(\.\d+)*|pyd|dylib)$")


@dataclass(frozen=True)
class FileSize:
    arcname: str
    distribution: str | None
    unzipped: int
    zipped: int


@dataclass(frozen=True)
class DistSize:
    name: str
    files: int
    unzipped: int
    zipped: int
    saved: int  # bytes removed or stripped by slimming for this distribution


@dataclass(frozen=True)
class SizeReport:
    artifact: str
    kind: str  # "function" | "layer"
    files: list[FileSize]  # sorted by arcname
    dists: list[DistSize]  # largest (unzipped) first
    unzipped: int
    zipped: int  # sum of the members' compressed sizes (zip headers not included)
    budget_share: float  # unzipped / 262,144,000 (1.0 = the whole 250 MB)
    saved: int
    largest: list[FileSize]  # the `top` largest files, largest first
    facts: ArtifactFacts | None = None  # target, hashes, findings: set by the pipeline (report.artifact)
    # False: measured from the staged files of a build that failed before packing; the zipped
    # sizes are unknown (0 here, shown as "-" and null), never estimated.
    packed: bool = True


def zip_member_sizes(path: Path) -> dict[str, tuple[int, int]]:
    """arcname -> (file_size, compress_size) of every file member, from the central
    directory only (zipfile reads just the directory on open; no member is read).

    Directory entries are skipped; a name listed twice keeps its last entry, which
    is the one an extractor ends up with.
    """
    out: dict[str, tuple[int, int]] = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            out[info.filename] = (info.file_size, info.compress_size)
    return out


def unowned_label(kind: str) -> str:
    """The row name of the files no distribution owns, in a zip of this kind."""
    return UNOWNED_FUNCTION if kind == "function" else UNOWNED_LAYER


def file_kind(arcname: str) -> str:
    """native (.so/.pyd/.dylib), python (.py/.pyi/Cython sources), bytecode (.pyc/.pyo) or data."""
    name = arcname.rsplit("/", 1)[-1].lower()
    if _NATIVE_RE.search(name):
        return "native"
    if name.endswith((".pyc", ".pyo")):
        return "bytecode"
    if name.endswith((".py", ".pyi", ".pyx", ".pxd", ".pxi")):
        return "python"
    return "data"


def _owner(arcname: str, owners: Mapping[str, str | None]) -> str | None:
    """The owner of `arcname`, else of its nearest listed parent folder."""
    got = owners.get(arcname)
    if got is not None:
        return got
    source = pyc_source(arcname)
    if source is not None and (got := owners.get(source)) is not None:
        return got
    parts = arcname.split("/")
    for i in range(len(parts) - 1, 0, -1):
        got = owners.get("/".join(parts[:i]))
        if got is not None:
            return got
    return None


def _canonical(label: str) -> str:
    """ "Python_Dateutil 2.9" -> "python-dateutil" (PEP 503 name of a "name version" label)."""
    return re.sub(r"[-_.]+", "-", label.split(" ", 1)[0]).lower()


def size_report(
    artifact_path: Path,
    kind: str,
    owners: Mapping[str, str | None],
    saved_by_dist: Mapping[str, int] | None = None,
    top: int = 20,
) -> SizeReport:
    """Measure `artifact_path` and attribute every file to a distribution.

    `owners` maps arcname (or a folder of arcnames) -> "name version", None for the
    user's code. `saved_by_dist` maps a distribution label (or just its name) -> bytes
    slimming removed; a distribution slimmed away entirely still gets a row.
    """
    return report_of(str(artifact_path), kind, zip_member_sizes(artifact_path), owners, saved_by_dist, top)


def staged_report(artifact: str, kind: str, sizes: Mapping[str, int], owners: Mapping[str, str | None],
                  saved_by_dist: Mapping[str, int] | None = None) -> SizeReport:
    """The report of files that were never packed (a build that failed before its zip): unzipped
    sizes only, `packed` False."""
    return report_of(artifact, kind, {a: (n, None) for a, n in sizes.items()}, owners, saved_by_dist)


def report_of(artifact: str, kind: str, sizes: Mapping[str, tuple[int, int | None]],
              owners: Mapping[str, str | None], saved_by_dist: Mapping[str, int] | None = None,
              top: int = 20) -> SizeReport:
    """The report of members with these (unzipped, zipped) sizes; zipped None: not packed."""
    unowned = unowned_label(kind)
    packed = all(z is not None for _u, z in sizes.values())
    files = [FileSize(a, _owner(a, owners), u, z or 0) for a, (u, z) in sorted(sizes.items())]

    count: Counter[str] = Counter()
    unz: Counter[str] = Counter()
    zipped: Counter[str] = Counter()
    for f in files:
        label = f.distribution or unowned
        count[label] += 1
        unz[label] += f.unzipped
        zipped[label] += f.zipped

    saved: Counter[str] = Counter()
    by_canonical = {_canonical(label): label for label in count}
    for key, n in (saved_by_dist or {}).items():
        label = key if key in count else by_canonical.get(_canonical(key), key)
        saved[label] += n

    names = set(count) | set(saved)
    dists = sorted(
        (DistSize(n, count[n], unz[n], zipped[n], saved[n]) for n in names),
        key=lambda d: (-d.unzipped, -d.saved, d.name),
    )
    total_unzipped = sum(f.unzipped for f in files)
    largest = sorted(files, key=lambda f: (-f.unzipped, f.arcname))[: max(top, 0)]
    return SizeReport(
        artifact=artifact,
        kind=kind,
        files=files,
        dists=dists,
        unzipped=total_unzipped,
        zipped=sum(f.zipped for f in files),
        budget_share=total_unzipped / UNZIPPED_BYTES,
        saved=sum(saved.values()),
        largest=largest,
        packed=packed,
    )
