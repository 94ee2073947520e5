"""The Serverless Framework example (examples/serverless): what serverless.yml deploys is what the
project build writes. The Framework itself is not run (it needs an account and AWS credentials even
to package); the file is read as it reads it: provider defaults, per-function overrides,
`package.artifact` relative to the file, and a layer's CloudFormation name `<Name>LambdaLayer`."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from lp_helpers import lp_build_json

pytestmark = pytest.mark.network

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "serverless"


def layer_logical_id(name: str) -> str:
    # Serverless' naming (lib/plugins/aws/lib/naming.js getLambdaLayerLogicalId): normalized name + "LambdaLayer".
    return name[:1].upper() + name[1:].replace("-", "Dash").replace("_", "Underscore") + "LambdaLayer"


def _deployed(config: dict[str, Any], root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> what Serverless would deploy for it."""
    provider = config["provider"]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for name, layer in config.get("layers", {}).items():
        out[("layer", name)] = {"artifact": root / layer["package"]["artifact"],
                                "runtimes": layer["compatibleRuntimes"], "arches": layer["compatibleArchitectures"]}
    for name, fn in config["functions"].items():
        out[("function", name)] = {
            "artifact": root / fn["package"]["artifact"], "handler": fn["handler"],
            "runtime": fn.get("runtime", provider["runtime"]),
            "arch": fn.get("architecture", provider.get("architecture", "x86_64")),
            "layers": [ref["Ref"] for ref in fn.get("layers", [])]}
    return out


def test_serverless_yml_deploys_what_the_project_build_writes(tmp_path: Path) -> None:
    root = tmp_path / "sls"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", ".serverless"))
    config = yaml.safe_load((root / "serverless.yml").read_text(encoding="utf-8"))
    assert config["package"]["individually"] is True
    _r, manifest = lp_build_json(["build"], cwd=root)
    deployed = _deployed(config, root)
    built = {(a["kind"], a["name"]): a for a in manifest["artifacts"]}
    assert set(deployed) == set(built)  # every artifact deployed, nothing deployed that is not built
    base = root / "dist"
    for key, a in built.items():
        d = deployed[key]
        assert d["artifact"].resolve() == (base / a["path"]).resolve()
        digest = base64.b64encode(hashlib.sha256(d["artifact"].read_bytes()).digest()).decode("ascii")
        assert digest == a["sha256_base64"]
        if a["kind"] == "layer":
            assert a["runtime"] in d["runtimes"] and a["arch"] in d["arches"]
        else:
            assert (d["handler"], d["runtime"], d["arch"]) == (a["handler"], a["runtime"], a["arch"])
            assert d["layers"] == [layer_logical_id(n) for n in a["layers"]]
