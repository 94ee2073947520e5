"""The project manifest, `<output_dir>/lambdapack.json` (schemas/manifest.schema.json): every
artifact with its path, target, handler, layers, hashes and sizes, for SAM, CDK, Terraform and
deploy scripts to read instead of parsing our text output.

`manifest_of` is pure. Paths are relative to the manifest's folder (posix), so a manifest
stays true when the project is checked out elsewhere. Building a subset keeps the previous
manifest's entries for the artifacts not built this time (SAM builds one function per call),
as long as the project still defines them and their zip is still there; a failed artifact's
old entry is dropped, so nothing deploys what the last build could not make.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lambdapack.cache.lock import hold
from lambdapack.errors import WRITING_OUTPUT, from_os_error
from lambdapack.pack.zipwriter import atomic_output
from lambdapack.project.run import Outcome

__all__ = ["MANIFEST_NAME", "entry_key", "manifest_of", "read_manifest", "write_manifest"]

MANIFEST_NAME = "lambdapack.json"


def entry_key(entry: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(entry.get("kind")), str(entry.get("name")), str(entry.get("runtime")), str(entry.get("arch")))


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path.absolute(), base.absolute())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return str(path.absolute())


def _entry(o: Outcome, base: Path, layer_names: Mapping[str, str]) -> dict[str, Any]:
    assert o.result is not None
    r, job = o.result, o.job
    out = r.outputs[0].artifact
    tree: Path | None = getattr(r.outputs[0], "tree", None)  # --output-dir's unpacked tree, when written
    return {
        "name": job.name, "kind": job.kind, "runtime": job.options.runtime, "arch": job.options.arch,
        "handler": job.options.handler if job.kind == "function" else None,
        "layers": list(job.layers),
        "path": _relative(out.path, base),
        "tree": _relative(tree, base) if tree is not None else None,
        "sha256": out.sha256_hex, "sha256_base64": out.sha256_base64,
        "zipped_bytes": out.zipped_bytes, "unzipped_bytes": out.unzipped_bytes,
        "unzipped_with_layers": r.unzipped_total, "files": out.files, "cached": r.cached,
        "from_layers": [{**x.as_dict(), "layer": layer_names.get(x.layer, x.layer)} for x in r.from_layers],
        "warnings": list(r.warnings),
        "findings": [f.as_dict() for f in r.findings],
    }


def _failure(o: Outcome) -> dict[str, Any]:
    job = o.job
    error = ({"message": o.error.message, "hint": o.error.hint, "exit_code": o.error.exit_code}
             if o.error is not None else {"message": o.skipped or "not built", "hint": None, "exit_code": 1})
    return {"name": job.name, "kind": job.kind, "runtime": job.options.runtime, "arch": job.options.arch,
            "error": error}


def manifest_of(outcomes: Sequence[Outcome], manifest: Path, config: Path | None,
                previous: Sequence[Mapping[str, Any]] = (), defined: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The manifest of this build; `previous` entries survive for artifacts this build did not touch
    whose name is still `defined` and whose zip is still there."""
    base = manifest.parent
    # A layer's zip name -> its project name, for the function entries' from_layers.
    layer_names = {Path(o.job.options.output).name: o.job.name
                   for o in outcomes if o.job.kind == "layer" and o.job.options.output is not None}
    built = [_entry(o, base, layer_names) for o in outcomes if o.ok]
    touched = {entry_key({"kind": o.job.kind, "name": o.job.name, "runtime": o.job.options.runtime,
                          "arch": o.job.options.arch}) for o in outcomes}
    kept = [dict(e) for e in previous
            if entry_key(e) not in touched and e.get("name") in defined
            and isinstance(e.get("path"), str) and (base / str(e["path"])).is_file()]
    entries = sorted([*kept, *built], key=lambda e: (e["kind"] != "layer", e["name"], e["runtime"], e["arch"]))
    return {
        "version": 1,
        "ok": all(o.ok for o in outcomes),
        "config": str(config) if config is not None else None,
        "manifest": str(manifest.absolute()),
        "artifacts": entries,
        "failed": [_failure(o) for o in outcomes if not o.ok],
    }


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """The previous manifest's entries; nothing when it is missing or not ours (it is rewritten)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("artifacts"), list):
        return []
    return [e for e in data["artifacts"] if isinstance(e, dict)]


def write_manifest(path: Path, build: Any) -> dict[str, Any]:
    """Read the previous manifest, compute the new one with `build(previous)` and write it, under a
    lock beside it, so concurrent project builds (SAM's parallel builds) never lose an entry."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(f".{path.name}.lock"), "a+b")  # noqa: SIM115 - held across the block
    except OSError as e:
        raise from_os_error(e, WRITING_OUTPUT, path) from e
    with lock, hold(lock, exclusive=True):
        data: dict[str, Any] = build(read_manifest(path))
        text = json.dumps(data, indent=2) + "\n"
        if _current_text(path) != text:  # a no-change build leaves the file (and its mtime) alone
            with atomic_output(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
    return data


def _current_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
