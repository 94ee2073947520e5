"""Read lambdapack's project manifest (dist/lambdapack.json) for a CDK app.

Copy this file into your CDK app: it needs only the standard library (no lambdapack, no CDK),
so the app's environment stays the CDK's. `artifact("hello")` gives the zip's path, its CodeSha256
and the target the zip was built for, so the construct code never repeats what the project
config already says.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Artifact", "ManifestError", "artifact"]

DEFAULT_MANIFEST = Path("dist") / "lambdapack.json"


class ManifestError(Exception):
    """The manifest is missing, not lambdapack's, or has no (single) such artifact."""


class Artifact(NamedTuple):
    path: str  # absolute path of the zip
    sha256_base64: str  # Lambda's CodeSha256
    handler: str | None  # None for a layer
    runtime: str  # python3.12
    arch: str  # x86_64 or arm64
    kind: str  # function or layer


def _load(manifest: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{manifest}: no such file; run `lambdapack build` in the project first") from None
    except (OSError, ValueError) as e:
        raise ManifestError(f"{manifest}: cannot be read ({e}); run `lambdapack build` again") from None
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("artifacts"), list):
        raise ManifestError(f"{manifest}: not a lambdapack manifest (version 1)")
    return [e for e in data["artifacts"] if isinstance(e, dict)]


def _pick(entries: list[dict[str, Any]], name: str, kind: str | None, runtime: str | None,
          arch: str | None) -> dict[str, Any]:
    wanted = {"name": name, "kind": kind, "runtime": runtime, "arch": arch}
    found = [e for e in entries if all(v is None or e.get(k) == v for k, v in wanted.items())]
    if len(found) == 1:
        return found[0]
    what = " ".join(f"{k}={v}" for k, v in wanted.items() if v is not None)
    if not found:
        names = ", ".join(sorted({str(e.get("name")) for e in entries})) or "none"
        raise ManifestError(f"no artifact {what} in the manifest (artifacts: {names}); build it with "
                            f"`lambdapack build {name}`")
    targets = ", ".join(f"{e.get('kind')} {e.get('runtime')} {e.get('arch')}" for e in found)
    raise ManifestError(f"{len(found)} artifacts match {what} ({targets}): pass kind, runtime or arch")


def artifact(name: str, *, kind: str | None = None, runtime: str | None = None, arch: str | None = None,
             manifest: str | Path = DEFAULT_MANIFEST) -> Artifact:
    """The manifest's entry for `name`; kind/runtime/arch choose among several builds of one name
    (a layer built for two architectures). Paths in the manifest are relative to its folder."""
    manifest = Path(manifest)
    e = _pick(_load(manifest), name, kind, runtime, arch)
    zip_path = (manifest.parent / str(e["path"])).resolve()
    try:
        digest = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode("ascii")
    except OSError as err:
        raise ManifestError(f"{zip_path}: {err.strerror or err}; run `lambdapack build {name}` again") from None
    # A zip rebuilt or edited after the manifest was written would deploy code the manifest does not describe.
    if digest != e["sha256_base64"]:
        raise ManifestError(f"{zip_path} changed since {manifest} was written; run `lambdapack build` again")
    return Artifact(str(zip_path), digest, e.get("handler"), str(e["runtime"]), str(e["arch"]), str(e["kind"]))
