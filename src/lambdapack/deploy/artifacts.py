"""What a deploy deploys: the zips a project build listed in its manifest (their bytes checked
against it), or one zip given on the command line; each with its AWS name from the config."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lambdapack.config.project import Project
from lambdapack.config.settings import Layers, setting_named, value_of
from lambdapack.deploy.plan import Artifact
from lambdapack.errors import InputError, UsageError, from_os_error

__all__ = ["digest", "project_artifacts", "zip_artifact"]



def digest(path: Path) -> tuple[str, str, int]:
    """(sha256 hex, base64 sha256 = Lambda's CodeSha256, size) of a file, read in chunks."""
    h, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
    except OSError as e:
        raise from_os_error(e, path=path) from e
    return h.hexdigest(), base64.b64encode(h.digest()).decode(), size


def zip_artifact(path: Path, kind: str, aws_name: str, target: tuple[str, str], **more: Any) -> Artifact:
    hex_, b64, size = digest(path)
    return Artifact(kind, path.stem, aws_name, target[0], target[1], str(path), hex_, b64, size, **more)


def _selected(project: Project, names: Sequence[str]) -> tuple[set[str], set[str]]:
    """The functions and layers to deploy: all, or the named ones and the named functions' layers."""
    if not names:
        return set(project.functions), set(project.layers)
    unknown = [n for n in names if n not in project.functions and n not in project.layers]
    if unknown:
        defined = ", ".join(sorted([*project.functions, *project.layers])) or "none"
        raise UsageError(f"{', '.join(unknown)}: not a function or layer of {project.path}", f"defined: {defined}")
    functions = {n for n in names if n in project.functions}
    layers = {n for n in names if n in project.layers} | {x for f in functions for x in project.functions[f].layers}
    return functions, layers


def _checked(entry: Mapping[str, Any], base: Path) -> tuple[Path, str, str, int]:
    path = base / str(entry["path"])
    hex_, b64, size = digest(path)
    if hex_ != entry.get("sha256"):
        raise InputError(f"{path} is not the zip the manifest lists (sha256 {hex_}, manifest {entry.get('sha256')})",
                         "rebuild: lambdapack deploy without --no-build, or lambdapack build")
    return path, hex_, b64, size


def _artifact(project: Project, entry: Mapping[str, Any], base: Path) -> Artifact:
    path, hex_, b64, size = _checked(entry, base)
    name, kind = str(entry["name"]), str(entry["kind"])
    if kind == "function":
        f = project.functions[name]
        cascade = project.layers_for(f)
        aws = value_of(setting_named("function_name"), cascade) or name
        arns = tuple(value_of(setting_named("layer_arns"), cascade))
        return Artifact(kind, name, aws, str(entry["runtime"]), str(entry["arch"]), str(path), hex_, b64, size,
                        layers=tuple(entry.get("layers") or ()), layer_arns=arns)
    layer = project.layers[name]
    aws = value_of(setting_named("layer_name"), Layers(file=project.defaults, function=layer.own)) or name
    return Artifact(kind, name, aws, str(entry["runtime"]), str(entry["arch"]), str(path), hex_, b64, size)


def project_artifacts(project: Project, entries: Sequence[Mapping[str, Any]], base: Path,
                      names: Sequence[str]) -> list[Artifact]:
    """The manifest's artifacts to deploy, layers first; each zip's sha256 checked against the manifest."""
    functions, layers = _selected(project, names)
    fn_targets = {(str(e["runtime"]), str(e["arch"])) for e in entries
                  if e.get("kind") == "function" and e.get("name") in functions}
    chosen = [e for e in entries if (e.get("kind") == "function" and e.get("name") in functions)
              or (e.get("kind") == "layer" and e.get("name") in layers
                  and (e.get("name") in names or not names or (str(e["runtime"]), str(e["arch"])) in fn_targets))]
    missing = sorted(functions - {str(e["name"]) for e in chosen if e["kind"] == "function"})
    if missing:
        raise InputError(f"{', '.join(missing)}: not in the manifest {base / 'lambdapack.json'}",
                         "build first: lambdapack deploy without --no-build, or lambdapack build")
    out = [_artifact(project, e, base) for e in sorted(chosen, key=lambda e: e["kind"] != "layer")]
    have = {(a.name, a.runtime, a.arch) for a in out if a.kind == "layer"}
    for a in out:
        for n in a.layers:
            if (n, a.runtime, a.arch) not in have:
                raise InputError(f"function {a.name} uses layer {n} ({a.runtime} {a.arch}), which the manifest "
                                 "does not list", "rebuild: lambdapack deploy without --no-build")
    return out
