#!/usr/bin/env python3
"""A program for Terraform's `external` data source: builds one artifact of a lambdapack project
and prints its manifest entry.

Terraform writes the query, a JSON object of strings, on stdin:
    {"name": "hello", "project": "/path/to/project", "kind": "function", "runtime": "", "arch": "", "build": "true"}
(`name` required; `project` defaults to the current directory; kind/runtime/arch choose among
several builds of one name; `"build": "false"` only reads dist/lambdapack.json). It prints a flat
JSON object of strings, as the external provider requires:
    {"path", "sha256_base64", "sha256", "handler", "runtime", "arch", "kind"}
`sha256_base64` is what filebase64sha256(path) gives and Lambda reports as CodeSha256. Errors are
one line on stderr and exit 1, which Terraform shows. Standard library only.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

SELECTORS = ("kind", "runtime", "arch")


class Failure(Exception):
    pass


def read_query(text: str) -> dict[str, str]:
    try:
        query = json.loads(text or "{}")
    except ValueError as e:
        raise Failure(f"the query on stdin is not JSON ({e})") from None
    if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
        raise Failure("the query must be a JSON object of strings, as Terraform's external data source sends")
    if not query.get("name"):
        raise Failure('the query has no "name": give the function or layer to build, query = { name = "hello" }')
    return query


def lambdapack_command() -> list[str]:
    # The lambdapack users installed (pipx, uv tool) first; else the one importable here.
    found = shutil.which("lambdapack")
    if found:
        return [found]
    if importlib.util.find_spec("lambdapack") is not None:
        return [sys.executable, "-m", "lambdapack"]
    raise Failure("lambdapack is not on PATH: install it (pipx install lambdapack) for Terraform's environment")


def build(project: Path, name: str) -> dict[str, Any]:
    run = subprocess.run([*lambdapack_command(), "build", name, "--format", "json"], cwd=project,
                         capture_output=True, text=True, check=False)
    lines = [line for line in run.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    if run.returncode != 0:
        raise Failure(" ".join(lines) or f"lambdapack build {name} failed (exit {run.returncode})")
    try:
        result: dict[str, Any] = json.loads(run.stdout)
    except ValueError:
        raise Failure(f"lambdapack build {name} printed no JSON: is it a project (docs/config.md)?") from None
    return result


def read_manifest(project: Path) -> dict[str, Any]:
    path = project / "dist" / "lambdapack.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise Failure(f"{path}: cannot be read ({e}); run `lambdapack build` in {project}") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise Failure(f"{path}: not a lambdapack manifest (version 1); run `lambdapack build` in {project}")
    data["manifest"] = str(path)  # where it is now: the project may have moved since the build
    return data


def pick(manifest: dict[str, Any], query: dict[str, str]) -> dict[str, str]:
    """The one entry the query names, as Terraform's flat map of strings."""
    wanted = {k: query[k] for k in ("name", *SELECTORS) if query.get(k)}
    found = [e for e in manifest.get("artifacts", []) if all(e.get(k) == v for k, v in wanted.items())]
    what = " ".join(f"{k}={v}" for k, v in wanted.items())
    if len(found) != 1:
        more = "pass kind, runtime or arch in the query" if found else "is it in the project config?"
        raise Failure(f"{len(found)} artifacts match {what} in the manifest: {more}")
    e = found[0]
    base = Path(str(manifest.get("manifest", ""))).parent
    return {
        "path": str(base / e["path"]), "sha256_base64": e["sha256_base64"], "sha256": e["sha256"],
        "handler": e["handler"] or "", "runtime": e["runtime"], "arch": e["arch"], "kind": e["kind"],
    }


def main() -> int:
    try:
        query = read_query(sys.stdin.read())
        project = Path(query.get("project") or ".").resolve()
        manifest = read_manifest(project) if query.get("build") == "false" else build(project, query["name"])
        sys.stdout.write(json.dumps(pick(manifest, query)) + "\n")
    except Failure as e:
        sys.stderr.write(f"lambdapack_external: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
