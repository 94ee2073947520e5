"""The Terraform/OpenTofu example (examples/terraform): the external data source's program run the
way Terraform runs it (JSON query on stdin, a flat JSON object of strings on stdout), and main.tf's
own expressions evaluated by the real `terraform console` when terraform or tofu is installed
(`LAMBDAPACK_TEST_TERRAFORM`, else PATH). `terraform validate` needs the AWS provider downloaded;
it skips, with the reason, where the registry is unreachable. `plan` needs AWS: out of scope.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import clean_env, lp_build_json

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "terraform"
KEYS = {"path", "sha256_base64", "sha256", "handler", "runtime", "arch", "kind"}


def _example(tmp_path: Path) -> Path:
    dest = tmp_path / "tf"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("dist", ".terraform*", "*.tfstate*", "__pycache__"))
    return dest


def _external(root: Path, query: Any) -> subprocess.CompletedProcess[str]:
    # As Terraform does: the program in the working directory, the query as JSON on stdin.
    env = clean_env({"PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])})
    stdin = query if isinstance(query, str) else json.dumps(query)
    return subprocess.run([sys.executable, str(root / "lambdapack_external.py")], input=stdin,
                          cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False)


def _b64sha(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode("ascii")


@pytest.mark.network
def test_external_program_builds_and_prints_a_flat_string_map(tmp_path: Path) -> None:
    root = _example(tmp_path)
    run = _external(root, {"name": "hello", "kind": "function", "project": str(root)})
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert set(result) == KEYS and all(isinstance(v, str) for v in result.values()), result
    zip_path = Path(result["path"])
    assert zip_path == root / "dist" / "hello.zip"
    # What filebase64sha256(path) computes, and Lambda's CodeSha256.
    assert result["sha256_base64"] == _b64sha(zip_path)
    assert result["sha256"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert (result["handler"], result["runtime"], result["arch"]) == ("app.handler", "python3.12", "arm64")
    # "build": "false" reads the manifest only; a layer has no handler, and null is not a string.
    layer = _external(root, {"name": "common", "build": "false"})
    assert layer.returncode == 0, layer.stderr
    assert json.loads(layer.stdout) | {"path": ""} == {
        "path": "", "kind": "layer", "handler": "", "runtime": "python3.12", "arch": "arm64",
        "sha256_base64": _b64sha(root / "dist" / "layer-common.zip"),
        "sha256": hashlib.sha256((root / "dist" / "layer-common.zip").read_bytes()).hexdigest()}


@pytest.mark.parametrize(("query", "message"), [
    ("not json", "not JSON"),
    ({"name": "hello", "build": 1}, "JSON object of strings"),
    ({"project": "."}, 'no "name"'),
    ({"name": "hello", "build": "false"}, "cannot be read"),
    ({"name": "hello", "arch": "sparc", "build": "false", "project": "missing"}, "cannot be read"),
    ({"name": "no/such/name"}, "lambdapack_external: error: "),  # lambdapack's own error line, passed on
], ids=["not-json", "not-strings", "no-name", "no-manifest", "no-project", "build-fails"])
def test_external_program_errors_are_one_line_on_stderr(tmp_path: Path, query: Any, message: str) -> None:
    root = _example(tmp_path)
    run = _external(root, query)
    assert run.returncode == 1 and run.stdout == ""
    assert len(run.stderr.splitlines()) == 1 and message in run.stderr, run.stderr


def _terraform() -> str:
    found = os.environ.get("LAMBDAPACK_TEST_TERRAFORM") or shutil.which("terraform") or shutil.which("tofu")
    if not found:
        pytest.skip("neither terraform nor tofu is installed (or set LAMBDAPACK_TEST_TERRAFORM)")
    return found


def _tf(terraform: str, args: list[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([terraform, *args], cwd=cwd, input=stdin, env=clean_env({"TF_IN_AUTOMATION": "1"}),
                          capture_output=True, text=True, timeout=300, check=False)


def test_terraform_files_are_formatted() -> None:
    run = _tf(_terraform(), ["fmt", "-check", "-diff", "-recursive", "-no-color", str(EXAMPLE)], EXAMPLE)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.network
def test_main_tf_expressions_give_the_manifest_hashes(tmp_path: Path) -> None:
    terraform = _terraform()
    root = _example(tmp_path)
    _r, data = lp_build_json(["build"], cwd=root)
    by_name = {e["name"]: e for e in data["artifacts"]}
    # main.tf's own locals block, in a folder without the resources (so no AWS provider is needed).
    locals_block = re.search(r"^locals \{.*?^\}", (root / "main.tf").read_text(encoding="utf-8"), re.S | re.M)
    assert locals_block is not None
    probe = root / "probe"
    probe.mkdir()
    (probe / "locals.tf").write_text(locals_block[0].replace("${path.module}/dist", "${path.module}/../dist"),
                                     encoding="utf-8")
    expr = ('jsonencode([local.hello.handler, local.hello.runtime, local.hello.arch,'
            ' filebase64sha256("${local.dist}/${local.hello.path}"),'
            ' filebase64sha256("${local.dist}/${local.common.path}")])')
    run = _tf(terraform, ["console", "-no-color"], probe, stdin=expr + "\n")
    assert run.returncode == 0, run.stdout + run.stderr
    values = json.loads(json.loads(run.stdout.strip()))
    assert values == ["app.handler", "python3.12", "arm64", by_name["hello"]["sha256_base64"],
                      by_name["common"]["sha256_base64"]]


@pytest.mark.network
def test_terraform_validate(tmp_path: Path) -> None:
    terraform = _terraform()
    root = _example(tmp_path)
    lp_build_json(["build"], cwd=root)
    init = _tf(terraform, ["init", "-backend=false", "-input=false", "-no-color"], root)
    if init.returncode != 0:
        lines = [line.strip("│ ") for line in init.stderr.splitlines()]
        reason = "; ".join([x for x in lines if x.startswith("Error:")][:1]
                           + [x for x in lines if "registry.terraform.io" in x or "no such host" in x][:1])
        pytest.skip(f"terraform init could not download the providers: {reason}")
    run = _tf(terraform, ["validate", "-no-color"], root)
    assert run.returncode == 0, run.stdout + run.stderr
