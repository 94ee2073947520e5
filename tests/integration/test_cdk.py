"""The AWS CDK example (examples/cdk): the real `cdk synth` on a real project build.

Tests never install software: the CDK CLI (npm `aws-cdk`) is `LAMBDAPACK_TEST_CDK` and a Python
with `aws-cdk-lib` is `LAMBDAPACK_TEST_CDK_PYTHON` (.ci/run installs both into .ci-tools/);
without them the synth test skips. The manifest reader (lambdapack_cdk.py, stdlib only) is
tested either way, on a real build.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lp_helpers import clean_env, lp_build_json

pytestmark = pytest.mark.network

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cdk"


def _example(tmp_path: Path) -> Path:
    dest = tmp_path / "cdk"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("dist", "cdk.out", "__pycache__"))
    return dest


def _reader(root: Path) -> ModuleType:
    # From the copy: importing writes __pycache__ beside the file, which must not land in examples/.
    spec = importlib.util.spec_from_file_location("lambdapack_cdk", root / "lambdapack_cdk.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _b64sha(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode("ascii")


def test_reader_gives_the_manifest_entry_and_refuses_a_stale_zip(tmp_path: Path) -> None:
    root = _example(tmp_path)
    lp_build_json(["build"], cwd=root)
    cdk = _reader(root)
    manifest = root / "dist" / "lambdapack.json"
    hello = cdk.artifact("hello", manifest=manifest)
    assert Path(hello.path) == (root / "dist" / "hello.zip").resolve()
    assert (hello.handler, hello.runtime, hello.arch, hello.kind) == ("app.handler", "python3.12", "arm64", "function")
    assert hello.sha256_base64 == _b64sha(root / "dist" / "hello.zip")
    assert cdk.artifact("common", kind="layer", manifest=manifest).handler is None
    with pytest.raises(cdk.ManifestError, match=r"no artifact name=nope .*artifacts: common, hello"):
        cdk.artifact("nope", manifest=manifest)
    with pytest.raises(cdk.ManifestError, match="run `lambdapack build` in the project first"):
        cdk.artifact("hello", manifest=root / "missing" / "lambdapack.json")
    # A zip replaced after the manifest was written must not be deployed under the old hash.
    (root / "dist" / "hello.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    with pytest.raises(cdk.ManifestError, match="changed since"):
        cdk.artifact("hello", manifest=manifest)


def _tools() -> tuple[str, str]:
    cdk, python = os.environ.get("LAMBDAPACK_TEST_CDK", ""), os.environ.get("LAMBDAPACK_TEST_CDK_PYTHON", "")
    if not cdk or not python:
        pytest.skip("no CDK here: set LAMBDAPACK_TEST_CDK (the cdk binary) and LAMBDAPACK_TEST_CDK_PYTHON "
                    "(a python with aws-cdk-lib); .ci/run installs both into .ci-tools/")
    if shutil.which(cdk) is None or shutil.which(python) is None:
        pytest.skip(f"LAMBDAPACK_TEST_CDK={cdk} or LAMBDAPACK_TEST_CDK_PYTHON={python} is not an executable")
    return cdk, python


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_cdk_synth_deploys_the_lambdapack_zips_as_they_are(tmp_path: Path) -> None:
    cdk, python = _tools()
    root = _example(tmp_path)
    # cdk.json's "build" runs `lambdapack build` before synth: this interpreter's lambdapack.
    bin_dir = Path(sys.executable).parent
    if shutil.which("lambdapack", path=str(bin_dir)) is None:
        pytest.skip(f"no lambdapack script beside {sys.executable} for cdk.json's build command")
    env = clean_env({"PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)]),
                     "CDK_DISABLE_CLI_TELEMETRY": "true", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"})
    run = subprocess.run([cdk, "synth", "--app", f'"{python}" app.py', "--no-notices", "--no-version-reporting",
                          "-q"], cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    manifest = json.loads((root / "dist" / "lambdapack.json").read_text(encoding="utf-8"))
    by_name = {e["name"]: e for e in manifest["artifacts"]}
    template = json.loads((root / "cdk.out" / "LambdapackExample.template.json").read_text(encoding="utf-8"))
    [layer] = _resources(template, "AWS::Lambda::LayerVersion")
    [fn] = _resources(template, "AWS::Lambda::Function")
    assert (fn["Handler"], fn["Runtime"], fn["Architectures"]) == ("app.handler", "python3.12", ["arm64"])
    [layer_id] = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert fn["Layers"] == [{"Ref": layer_id}]
    assert (layer["CompatibleRuntimes"], layer["CompatibleArchitectures"]) == (["python3.12"], ["arm64"])
    # CDK stages a .zip file asset as it is ("packaging": "file"), under its own fingerprint: the
    # uploaded object is byte for byte lambdapack's zip, so Lambda's CodeSha256 is the manifest's.
    assets = json.loads((root / "cdk.out" / "LambdapackExample.assets.json").read_text(encoding="utf-8"))["files"]
    for props, name in ((fn["Code"], "hello"), (layer["Content"], "common")):
        asset = assets[props["S3Key"].removesuffix(".zip")]
        assert asset["source"]["packaging"] == "file"
        staged = root / "cdk.out" / asset["source"]["path"]
        built = root / "dist" / by_name[name]["path"]
        assert staged.read_bytes() == built.read_bytes()
        assert _b64sha(staged) == by_name[name]["sha256_base64"]
