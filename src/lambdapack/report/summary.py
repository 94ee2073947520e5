"""The size report as a JSON-ready summary (`--format json`)."""

from __future__ import annotations

from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.report.sizes import KINDS, FileSize, SizeReport, file_kind

__all__ = ["kind_totals", "to_json"]


def _file_json(f: FileSize) -> dict[str, object]:
    return {
        "path": f.arcname,
        "distribution": f.distribution,
        "kind": file_kind(f.arcname),
        "unzipped_bytes": f.unzipped,
        "zipped_bytes": f.zipped,
    }


def kind_totals(rep: SizeReport) -> dict[str, dict[str, int]]:
    """Files and bytes per kind (native, python, bytecode, data), every kind present."""
    out = {k: {"files": 0, "unzipped_bytes": 0, "zipped_bytes": 0} for k in KINDS}
    for f in rep.files:
        t = out[file_kind(f.arcname)]
        t["files"] += 1
        t["unzipped_bytes"] += f.unzipped
        t["zipped_bytes"] += f.zipped
    return out


def to_json(rep: SizeReport) -> dict[str, object]:
    """A JSON-ready summary (the per-file list is not included: see `largest`). A report of a
    build that stopped before packing has `packed` false and every `zipped_bytes` null."""
    out = _summary(rep)
    return out if rep.packed else {k: _unknown_zipped(v) if k != "zipped_bytes" else None for k, v in out.items()}


def _unknown_zipped(value: object) -> object:
    if isinstance(value, dict):
        return {k: None if k == "zipped_bytes" else _unknown_zipped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknown_zipped(v) for v in value]
    return value


def _summary(rep: SizeReport) -> dict[str, object]:
    return {
        "artifact": rep.artifact,
        "packed": rep.packed,
        "kind": rep.kind,
        "files": len(rep.files),
        "unzipped_bytes": rep.unzipped,
        "zipped_bytes": rep.zipped,
        "budget_bytes": UNZIPPED_BYTES,
        "budget_share": rep.budget_share,
        "saved_bytes": rep.saved,
        "distributions": [
            {
                "name": d.name,
                "files": d.files,
                "unzipped_bytes": d.unzipped,
                "zipped_bytes": d.zipped,
                "budget_share": d.unzipped / UNZIPPED_BYTES,
                "saved_bytes": d.saved,
            }
            for d in rep.dists
        ],
        "kinds": kind_totals(rep),
        "largest": [_file_json(f) for f in rep.largest],
    }
