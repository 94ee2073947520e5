"""A layer zip given to `check` and `smoke` as the function: nothing under python/ is
importable from /var/task, so `check` warns (LP208) and `smoke` fails, saying to pass it
with --layer. A function with an importable python/ package of its own, or with its
modules at the root beside a python/ folder, is not flagged. Real zips, the real CLI,
and a real CPython 3.12 for the smoke test."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from host_pythons import need_interpreter
from lp_helpers import run_lp

from lambdapack.inspect.check import function_as_layer

HANDLER = "def lambda_handler(event, context):\n    return 1\n"
LAYER = {"python/helper.py": "X = 1\n", "python/pkg/__init__.py": "", "python/pkg-1.0.dist-info/METADATA": "x\n"}
TARGET = ["--runtime", "python3.12", "--arch", "x86_64"]


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16  # world-readable, as Lambda needs (else LP401)
            zf.writestr(info, text)
    return path


def run_json(*args: object) -> tuple[int, dict[str, Any]]:
    r = run_lp([*map(str, args), *TARGET, "--format", "json"])
    assert "Traceback" not in r.stderr, r.explain()
    return r.returncode, r.json


def lp208(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["code"] == "LP208"]


def test_check_warns_on_a_layer_given_as_the_function(tmp_path: Path) -> None:
    rc, data = run_json("check", make_zip(tmp_path / "layer.zip", LAYER))
    assert rc == 0  # a warning: the zip itself is fine, as a layer
    (f,) = lp208(data)
    assert f["severity"] == "warning" and "helper, pkg" in f["message"] and "--layer" in f["fix"]
    rc, data = run_json("check", make_zip(tmp_path / "fn.zip", {"app.py": HANDLER}), "--layer", tmp_path / "layer.zip")
    assert rc == 0 and lp208(data) == []  # passed as a layer: nothing to say


@pytest.mark.parametrize("files", [
    {**LAYER, "python/__init__.py": ""},  # python/ is the function's own package: `import python.helper`
    {**LAYER, "app.py": HANDLER},  # modules at the root, and a python/ folder beside them
    {"app.py": HANDLER},
])
def test_check_does_not_flag_a_function(tmp_path: Path, files: dict[str, str]) -> None:
    _rc, data = run_json("check", make_zip(tmp_path / "fn.zip", files))
    assert lp208(data) == []


def test_a_handler_inside_python_is_not_flagged() -> None:
    names = list(LAYER)
    assert function_as_layer(names, "3.12", "python/helper.handler") == []
    assert [f.code for f in function_as_layer(names, "3.12", "app.handler")] == ["LP208"]
    assert [f.code for f in function_as_layer(names, "3.12")] == ["LP208"]
    versioned = ["python/lib/python3.12/site-packages/six.py"]
    assert "six" in function_as_layer(versioned, "3.12")[0].message
    assert function_as_layer(["python/lib/python3.11/site-packages/six.py"], "3.12") == []  # nothing imports


def test_smoke_fails_on_a_layer_given_as_the_function(tmp_path: Path) -> None:
    need_interpreter((3, 12))
    layer = make_zip(tmp_path / "layer.zip", LAYER)
    rc, data = run_json("smoke", layer)
    assert rc == 1 and data["status"] == "failed", data
    assert "looks like a layer" in data["reason"] and "--layer" in data["reason"]
    assert [f["code"] for f in data["findings"]] == ["LP208"]
    assert data["results"] == []  # the python/ namespace is not "imported" as if it proved anything
    rc, data = run_json("smoke", make_zip(tmp_path / "fn.zip", {"app.py": HANDLER}), "--layer", layer)
    assert rc == 0 and data["status"] == "passed" and data["findings"] == []
    assert {r["module"] for r in data["results"]} == {"app", "helper", "pkg"}


def test_smoke_passes_a_function_with_its_own_python_package(tmp_path: Path) -> None:
    need_interpreter((3, 12))
    fn = make_zip(tmp_path / "fn.zip", {**LAYER, "python/__init__.py": ""})
    rc, data = run_json("smoke", fn)
    assert rc == 0 and data["status"] == "passed" and data["findings"] == [], data
    assert [r["module"] for r in data["results"]] == ["python"]
