"""Size reports of a build: from the sizes the zip writer wrote, and kept in the artifact cache as dicts.

report.sizes is imported where it is used: a no-change rebuild that reads no report skips it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdapack.staged import StagedFile

if TYPE_CHECKING:
    from lambdapack.pipeline.result import BuildResult
    from lambdapack.report.sizes import SizeReport

__all__ = ["describe_artifacts", "measure", "report_from_dict", "report_json", "report_to_dict", "staged_reports"]


def report_json(r: SizeReport) -> dict[str, object]:
    from lambdapack.report.summary import to_json

    # Absolute like the build's other paths; the text table and the HTML page show it as given.
    return {**to_json(r), "artifact": str(Path(r.artifact).absolute())}


def measure(kind: str, final: Path, entries: Sequence[StagedFile], saved: dict[str, int],
            sizes: Mapping[str, tuple[int, int]]) -> SizeReport:
    """Sizes per distribution: owners from the staged entries, each member's (unzipped, zipped)
    size as the zip writer wrote it (`WrittenZip.member_sizes`)."""
    from lambdapack.report.sizes import report_of
    owners: dict[str, str | None] = {e.arcname: e.distribution for e in entries}
    return report_of(str(final), kind, sizes, owners, saved)


def staged_reports(zips: Sequence[tuple[str, Path, Sequence[StagedFile]]], deps_zip: str,
                   saved: dict[str, int]) -> list[SizeReport]:
    """Reports of zips never packed (the build failed before): the staged files' sizes and
    owners, zipped sizes unknown. Savings belong to `deps_zip`, the zip with the dependencies."""
    from lambdapack.report.sizes import staged_report

    return [staged_report(str(out), kind, {e.arcname: e.size for e in entries},
                          {e.arcname: e.distribution for e in entries}, saved if kind == deps_zip else {})
            for kind, out, entries in zips]


def report_to_dict(r: SizeReport) -> dict[str, Any]:
    """Compact and fast (dataclasses.asdict deep-copies 5,000 files): rows as lists."""
    return {"artifact": r.artifact, "kind": r.kind, "unzipped": r.unzipped, "zipped": r.zipped,
            "budget_share": r.budget_share, "saved": r.saved,
            "files": [[f.arcname, f.distribution, f.unzipped, f.zipped] for f in r.files],
            "dists": [[d.name, d.files, d.unzipped, d.zipped, d.saved] for d in r.dists],
            "largest": [[f.arcname, f.distribution, f.unzipped, f.zipped] for f in r.largest]}


def _row(cls: Any, row: Any) -> Any:
    """A stored report row: a list (current form) or a dict (older cache entries)."""
    return cls(**row) if isinstance(row, dict) else cls(*row)


def report_from_dict(d: dict[str, Any]) -> SizeReport:
    from lambdapack.report.sizes import DistSize, FileSize, SizeReport
    return SizeReport(
        artifact=d["artifact"], kind=d["kind"], files=[_row(FileSize, f) for f in d["files"]],
        dists=[_row(DistSize, x) for x in d["dists"]], unzipped=d["unzipped"], zipped=d["zipped"],
        budget_share=d["budget_share"], saved=d["saved"], largest=[_row(FileSize, f) for f in d["largest"]],
    )


def describe_artifacts(result: BuildResult) -> None:
    """Attach to each size report its zip's target, hashes and findings (`report.artifact`), so the
    HTML page gets them from the reports alone. A finding that names another zip of this build
    (LP102 on the layer of a split build) stays with that zip; the others are the whole build's."""
    from lambdapack.report.artifact import ArtifactFacts, TargetFacts

    rt = result.target.runtime
    target = TargetFacts(rt.name, result.target.arch.value, rt.os, ".".join(map(str, rt.glibc)), rt.preview)
    written = {str(o.artifact.path): o.artifact for o in result.outputs}
    zips = {r.artifact for r in result.size_reports}
    described = []
    for r in result.size_reports:
        art = written.get(r.artifact)  # None: a failed build, whose zips were never moved into place
        findings = tuple(f for f in result.findings if f.path == r.artifact or f.path not in zips)
        facts = ArtifactFacts(target, art.sha256_hex if art else None, art.sha256_base64 if art else None,
                              art.zipped_bytes if art else None, result.unzipped_total, findings)
        described.append(dataclasses.replace(r, facts=facts))
    result.size_reports = described
