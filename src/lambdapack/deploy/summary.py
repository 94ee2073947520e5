"""A deploy's plan and result as text lines and as the JSON object (schemas/deploy.schema.json), pure."""

from __future__ import annotations

from typing import Any

from lambdapack.deploy.plan import Artifact, FunctionStep, LayerStep
from lambdapack.deploy.run import Deployed

__all__ = ["counts", "deployed_dict", "text_lines"]


def _artifact(a: Artifact) -> dict[str, Any]:
    return {"name": a.name, "aws_name": a.aws_name, "runtime": a.runtime or None, "arch": a.arch or None,
            "path": a.path, "sha256_base64": a.sha256_base64, "zipped_bytes": a.size}


def _layer_action(s: LayerStep, dry_run: bool) -> str:
    return "publish" if s.action == "publish" and dry_run else s.action


def _function_action(s: FunctionStep) -> str:
    if s.unchanged:
        return "unchanged"
    return "update " + " and ".join(w for w, on in (("code", s.update_code), ("layers", s.update_layers)) if on)


def counts(d: Deployed) -> dict[str, int]:
    return {"published": sum(s.action in ("publish", "published") for s in d.layers),
            "reused": sum(s.action == "reuse" for s in d.layers),
            "updated": sum(not s.unchanged for s in d.functions),
            "unchanged": sum(s.unchanged for s in d.functions),
            "uploaded": sum(u.uploaded for u in d.uploads.values())}


def deployed_dict(d: Deployed) -> dict[str, Any]:
    c = counts(d)
    return {
        "dry_run": d.dry_run, "changed": not d.dry_run and (c["published"] + c["updated"] + c["uploaded"]) > 0,
        "layers": [{**_artifact(s.artifact), "action": _layer_action(s, d.dry_run), "arn": s.arn, "reason": s.reason}
                   for s in d.layers],
        "functions": [{**_artifact(s.artifact), "action": _function_action(s), "update_code": s.update_code,
                       "update_layers": s.update_layers, "layers": list(s.layers), "reasons": list(s.reasons)}
                      for s in d.functions],
        "uploads": [{"bucket": u.bucket, "key": u.key, "uploaded": u.uploaded} for u in d.uploads.values()],
        "summary": c, "seconds": round(d.seconds, 3),
    }


def text_lines(d: Deployed) -> list[str]:
    """One line per artifact and action, then the summary line."""
    would = "would " if d.dry_run else ""
    lines = []
    for s in d.layers:
        label = f"layer {s.artifact.name} ({s.artifact.target})"
        if s.action == "reuse":
            lines.append(f"{label}: reuse {s.arn} ({s.reason})")
        elif d.dry_run:
            lines.append(f"{label}: would publish a new version of {s.artifact.aws_name} ({s.reason})")
        else:
            lines.append(f"{label}: published {s.arn} ({s.reason})")
    for u in d.uploads.values():
        lines.append(f"s3://{u.bucket}/{u.key}: {'uploaded' if u.uploaded else 'already there, not uploaded'}")
    for f in d.functions:
        label = f"function {f.artifact.aws_name} ({f.artifact.target})"
        if f.unchanged:
            lines.append(f"{label}: unchanged ({'; '.join(f.reasons)})")
        else:
            done = "would " + _function_action(f) if d.dry_run else _function_action(f).replace("update", "updated")
            lines.append(f"{label}: {done} ({'; '.join(f.reasons)})")
    lines.append(_summary(d, would))
    return lines


def _summary(d: Deployed, would: str) -> str:
    c = counts(d)
    parts = (f"{would}publish {c['published']} layer version(s), reuse {c['reused']}; "
             f"{would}update {c['updated']} function(s), leave {c['unchanged']} unchanged")
    if d.dry_run:
        return f"dry run: {parts}; nothing was changed ({d.seconds:.1f} s)"
    parts = (f"{c['published']} layer version(s) published, {c['reused']} reused; "
             f"{c['updated']} function(s) updated, {c['unchanged']} unchanged")
    if c["published"] + c["updated"] + c["uploaded"] == 0:
        return f"nothing changed: {parts} ({d.seconds:.1f} s)"
    return f"deployed: {parts}; {c['uploaded']} zip(s) uploaded to S3 ({d.seconds:.1f} s)"
