"""The deploy keys of a project config: each artifact's AWS name, a function's external layer ARNs,
the deploy bucket; each only where it means something. Real files, read by load_project."""

from __future__ import annotations

import hashlib
import json
import textwrap
import zipfile
from pathlib import Path

import pytest

from lambdapack.config.projectfile import load_project
from lambdapack.deploy.artifacts import project_artifacts
from lambdapack.errors import InputError, LambdapackError

CONFIG = """
[tool.lambdapack]
runtime = "python3.12"
arch = "arm64"
deploy_bucket = "s3://deploys/lp"
layer_arns = ["arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:7"]

[tool.lambdapack.functions.api]
src = "api"
function_name = "orders-api-prod"
layers = ["deps"]

[tool.lambdapack.layers.deps]
requirements = "req.txt"
layer_name = "orders-deps"
"""


def _project(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "api").mkdir()
    (tmp_path / "req.txt").write_text("attrs\n")
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(CONFIG) + extra)
    return tmp_path


def _manifest(root: Path) -> list[dict[str, object]]:
    dist = root / "dist"
    dist.mkdir()
    entries = []
    for kind, name, path in (("layer", "deps", "layer-deps.zip"), ("function", "api", "api.zip")):
        with zipfile.ZipFile(dist / path, "w") as z:
            z.writestr("x.py", name)
        entries.append({"kind": kind, "name": name, "runtime": "python3.12", "arch": "arm64", "path": path,
                        "layers": ["deps"] if kind == "function" else [],
                        "sha256": hashlib.sha256((dist / path).read_bytes()).hexdigest()})
    (dist / "lambdapack.json").write_text(json.dumps({"version": 1, "artifacts": entries}))
    return entries


def test_aws_names_and_external_layers_come_from_the_config(tmp_path: Path) -> None:
    root = _project(tmp_path)
    project = load_project(None, root)
    assert project.defaults["deploy_bucket"] == "s3://deploys/lp"
    layer, fn = project_artifacts(project, _manifest(root), root / "dist", [])
    assert (layer.kind, layer.aws_name) == ("layer", "orders-deps")
    assert (fn.kind, fn.aws_name, fn.layers) == ("function", "orders-api-prod", ("deps",))
    assert fn.layer_arns[0].endswith(":7")


def test_a_zip_changed_after_the_build_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path)
    entries = _manifest(root)
    (root / "dist" / "api.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    with pytest.raises(InputError) as e:
        project_artifacts(load_project(None, root), entries, root / "dist", ["api"])
    assert "is not the zip the manifest lists" in e.value.message and "rebuild" in (e.value.hint or "")


@pytest.mark.parametrize("extra", [
    '\n[tool.lambdapack.functions.worker]\nsrc = "api"\nlayer_name = "x"\n',  # a function has no layer name
    '\n[tool.lambdapack.layers.more]\nrequirements = "req.txt"\nfunction_name = "x"\n',
    '\n[tool.lambdapack.layers.more2]\nrequirements = "req.txt"\nlayer_arns = []\n',
])
def test_keys_only_where_they_mean_something(tmp_path: Path, extra: str) -> None:
    with pytest.raises(LambdapackError) as e:
        load_project(None, _project(tmp_path, extra))
    assert any(k in e.value.message for k in ("layer_name", "function_name", "layer_arns")), e.value.message


def test_one_function_name_for_all_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path)
    text = (root / "pyproject.toml").read_text().replace('arch = "arm64"\n', 'arch = "arm64"\nfunction_name = "x"\n', 1)
    (root / "pyproject.toml").write_text(text)
    with pytest.raises(LambdapackError) as e:
        load_project(None, root)
    assert "function_name" in e.value.message
