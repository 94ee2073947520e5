"""Layer zips (`--layer`) and split builds (`--split`): where each file goes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import lp_build_json, write_handler, zip_names
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.network

REQS = "six\norjson\n"



@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("layer")
    req = tmp / "req.txt"
    req.write_text(REQS, encoding="utf-8")
    out = tmp / "layer.zip"
    _r, data = lp_build_json(
        ["build", "--layer", "--runtime", "python3.12", "--arch", "x86_64", "-r", str(req), "-o", str(out)],
        cwd=tmp,
    )
    return out, data


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("split")
    src = write_handler(tmp / "src", "import six, orjson")
    (src / "mypkg").mkdir()
    (src / "mypkg" / "__init__.py").write_text("", encoding="utf-8")
    (src / "mypkg" / "util.py").write_text("X = 1\n", encoding="utf-8")
    (src / "requirements.txt").write_text(REQS, encoding="utf-8")  # found in SRC
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "lambda_function.cpython-312.pyc").write_bytes(b"junk")
    fn, lay = tmp / "fn.zip", tmp / "layer.zip"
    _r, data = lp_build_json(
        ["build", str(src), "--split", "--runtime", "python3.12", "--arch", "x86_64",
         "-o", str(fn), "--layer-output", str(lay)],
        cwd=tmp,
    )
    sources = sorted(
        Path(dp, f).relative_to(src).as_posix()
        for dp, dns, fs in os.walk(src)
        if "__pycache__" not in Path(dp).parts
        for f in fs
        if not (dp == str(src) and f == "requirements.txt")  # a packaging file: left out (README)
    )
    return {"fn": fn, "layer": lay, "data": data, "sources": sources}


def test_layer_entries_all_under_python(layer: tuple[Path, dict[str, Any]]) -> None:
    out, data = layer
    names = zip_names(out)
    assert names
    assert all(n.startswith("python/") for n in names), [n for n in names if not n.startswith("python/")]
    assert "python/six.py" in names
    assert any(n.startswith("python/orjson/") and ".so" in n for n in names)
    [o] = data["outputs"]
    assert o["kind"] == "layer"
    assert o["files"] == len(names)


def test_split_function_zip_has_only_sources(split: dict[str, Any]) -> None:
    names = sorted(zip_names(split["fn"]))
    # The sources, plus the target's bytecode of each .py (never the junk .pyc in SRC).
    assert [n for n in names if not n.endswith(".pyc")] == split["sources"]
    expected_pyc = sorted(
        str(Path(s).parent / "__pycache__" / (Path(s).stem + ".cpython-312.pyc")).removeprefix("./")
        for s in split["sources"] if s.endswith(".py")
    )
    assert [n for n in names if n.endswith(".pyc")] == expected_pyc
    assert not any(n.startswith("python/") or ".dist-info/" in n for n in names)
    assert "six.py" not in names and not any(n.startswith("orjson/") for n in names)


def test_split_layer_has_the_dependencies(split: dict[str, Any]) -> None:
    names = zip_names(split["layer"])
    assert all(n.startswith("python/") for n in names)
    assert "python/six.py" in names
    assert any(n.startswith("python/orjson/") for n in names)
    assert any(n.startswith("python/orjson-") and n.endswith(".dist-info/RECORD") for n in names)
    # None of the user's code lands in the layer.
    assert "python/lambda_function.py" not in names and "lambda_function.py" not in names
    assert not any(n.startswith(("python/mypkg/", "mypkg/")) for n in names)


def test_split_report(split: dict[str, Any]) -> None:
    data = split["data"]
    kinds = {o["kind"]: o for o in data["outputs"]}
    assert set(kinds) == {"function", "layer"}
    assert Path(kinds["function"]["path"]).resolve() == split["fn"].resolve()
    assert Path(kinds["layer"]["path"]).resolve() == split["layer"].resolve()
    assert {canonicalize_name(d["name"]) for d in data["distributions"]} >= {"six", "orjson"}
    assert data["unzipped_total_bytes"] == sum(o["unzipped_bytes"] for o in data["outputs"])
