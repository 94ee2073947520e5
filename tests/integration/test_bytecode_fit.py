"""A default build whose own bytecode is what takes it over Lambda's 262,144,000-byte
unzipped limit leaves out just enough dependency bytecode to fit, and says which (LP104).

Offline: two real wheels written by this test (pure Python, one with a `testing/` package and a
`tests/` suite, which is never compiled at all),
installed by the real uv from a local --find-links directory, compiled by the real target
interpreter, next to a real `--with-layer` zip of zeros sized so that the .pyc decide.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from host_pythons import need_interpreter
from lp_helpers import lp_build_json, make_zero_layer, run_lp, write_handler, zip_names
from test_check_output import assert_valid, build_validator
from wheels import write_wheel

LIMIT = 262_144_000
BASE = ["--runtime", "python3.12", "--arch", "x86_64"]


def _module(n: int) -> bytes:
    return "".join(f"def f{j}(x):\n    return x * {j} + len('{j}' * 3)\n\n" for j in range(n)).encode()


def _pyc_by_top(zip_path: Path) -> dict[str, int]:
    """.pyc bytes in the zip by top-level name, test modules of fitbig apart."""
    out: dict[str, int] = {}
    with zipfile.ZipFile(zip_path) as zf:
        for i in zf.infolist():
            if i.filename.endswith(".pyc"):
                key = "fitbig/testing" if i.filename.startswith("fitbig/testing/") else i.filename.split("/")[0]
                out[key] = out.get(key, 0) + i.file_size
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], int, dict[str, int]]:
    """The source tree, its dependency arguments, its unzipped total and its .pyc bytes by part."""
    need_interpreter((3, 12))
    root = tmp_path_factory.mktemp("pycfit")
    src = write_handler(root / "src", "import fitbig, fitsmall")
    (src / "helpers.py").write_bytes(_module(300))  # the user's own bytecode: never left out
    wheels = root / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "fitbig", "1.0", files={"fitbig/__init__.py": b"", **{f"fitbig/m{i}.py": _module(400) for i in range(4)},
                              "fitbig/testing/__init__.py": b"",
                              **{f"fitbig/testing/test_{i}.py": _module(200) for i in range(2)},
                              "fitbig/tests/test_suite.py": _module(50)})
    write_wheel(wheels, "fitsmall", "1.0", files={"fitsmall/__init__.py": _module(300)})
    (root / "empty").mkdir()
    (root / "req.txt").write_text("fitbig\nfitsmall\n")
    deps = ["-r", str(root / "req.txt"), "--index-url", str(root / "empty"), "--find-links", str(wheels)]
    _r, data = lp_build_json(["build", str(src), *deps, *BASE, "-o", str(root / "fn.zip")], cwd=root)
    pyc = _pyc_by_top(root / "fn.zip")
    assert "fitbig/tests/__pycache__/test_suite.cpython-312.pyc" not in zip_names(root / "fn.zip")
    assert set(pyc) == {"fitbig", "fitbig/testing", "fitsmall", "__pycache__"}, pyc
    assert pyc["fitbig"] > pyc["fitsmall"] > 0 and pyc["fitbig/testing"] > 0, pyc
    assert data["without_bytecode"] == []
    return src, deps, data["unzipped_total_bytes"], pyc


def _build(project: tuple[Path, list[str], int, dict[str, int]], tmp: Path, layer_bytes: int,
           *extra: str) -> tuple[Any, Path]:
    src, deps, _total, _pyc = project
    layer = make_zero_layer(tmp / "layer.zip", layer_bytes)
    out = tmp / "out.zip"
    r = run_lp(["build", str(src), *deps, *BASE, "--with-layer", str(layer), "-o", str(out), "--format", "json",
                *extra], cwd=tmp)
    assert "Traceback" not in r.stderr, r.explain()
    return r, out


def test_test_modules_then_the_largest_distribution_left_out(project: Any, tmp_path: Path) -> None:
    _src, _deps, total, pyc = project
    # Over by a little more than fitbig's test bytecode: its tests go, then fitbig as a whole.
    r, out = _build(project, tmp_path, LIMIT - total + pyc["fitbig/testing"] + 1)
    assert r.returncode == 0, r.explain()
    data = r.json
    assert data["without_bytecode"] == [
        {"name": "fitbig", "version": "1.0", "bytes": pyc["fitbig"] + pyc["fitbig/testing"], "tests_only": False}]
    (lp104,) = [f for f in data["findings"] if f["code"] == "LP104"]
    assert lp104["severity"] == "warning" and "left out the bytecode of fitbig (" in lp104["message"], lp104
    assert "to fit within 262,144,000 bytes" in lp104["message"]
    assert data["unzipped_total_bytes"] == LIMIT + 1 - pyc["fitbig"] < LIMIT
    assert_valid(build_validator(), data)
    # the zip holds no .pyc of fitbig, and fitsmall's and the user's are all still there
    assert _pyc_by_top(out) == {"fitsmall": pyc["fitsmall"], "__pycache__": pyc["__pycache__"]}
    # the same inputs give the same bytes, built again or from the no-change shortcut
    again = run_lp(["build", *r.argv[r.argv.index("build") + 1:], "--no-cache"], cwd=tmp_path)
    assert again.returncode == 0, again.explain()
    cached = run_lp(r.argv[3:], cwd=tmp_path)
    assert cached.returncode == 0 and cached.json["cached"] is True, cached.explain()
    for d in (again.json, cached.json):
        assert d["outputs"][0]["sha256"] == data["outputs"][0]["sha256"]
        assert d["without_bytecode"] == data["without_bytecode"]
        assert [f["code"] for f in d["findings"]] == [f["code"] for f in data["findings"]]


def test_test_modules_alone_when_they_are_enough(project: Any, tmp_path: Path) -> None:
    _src, _deps, total, pyc = project
    r, out = _build(project, tmp_path, LIMIT - total + pyc["fitbig/testing"] - 1)
    assert r.returncode == 0, r.explain()
    assert r.json["without_bytecode"] == [
        {"name": "fitbig", "version": "1.0", "bytes": pyc["fitbig/testing"], "tests_only": True}]
    assert "fitbig/testing" not in _pyc_by_top(out) and "fitbig" in _pyc_by_top(out)
    argv = r.argv[4:]
    r2 = run_lp(["build", *argv[:argv.index("--format")], "--format", "text"], cwd=tmp_path)  # one --format only
    assert "without bytecode (to fit the size limit): fitbig (tests)" in r2.stdout, r2.explain()


def test_compile_keeps_everything_and_lp101_says_what_the_default_would_do(project: Any, tmp_path: Path) -> None:
    _src, _deps, total, pyc = project
    r, out = _build(project, tmp_path, LIMIT - total + pyc["fitbig/testing"] + 1, "--compile")
    assert r.returncode == 1, r.explain()
    (lp101,) = [f for f in r.json["findings"] if f["code"] == "LP101"]
    assert "the default (without --compile) would leave out the bytecode of fitbig (" in lp101["message"], lp101
    assert r.json["without_bytecode"] == []
    assert not [f for f in r.json["findings"] if f["code"] == "LP104"] and not out.exists()


def test_nothing_left_out_when_it_cannot_fit(project: Any, tmp_path: Path) -> None:
    _src, _deps, total, pyc = project
    deps_pyc = pyc["fitbig"] + pyc["fitbig/testing"] + pyc["fitsmall"]
    # only the user's own bytecode would bring it under: that is never left out
    r, _out = _build(project, tmp_path, LIMIT - total + deps_pyc)
    assert r.returncode == 1, r.explain()
    assert [f["code"] for f in r.json["findings"] if f["severity"] == "error"] == ["LP101"]
    assert r.json["without_bytecode"] == []


@pytest.mark.network
@pytest.mark.slow
def test_scikit_learn_arm64_python311_fits_without_leaving_anything_out(tmp_path: Path) -> None:
    """The case of the issue: 262.8 MB with all bytecode (LP101 before); 30.0 MB of it was the
    test modules of scikit-learn, scipy, numpy and joblib, which are no longer compiled at all,
    so the default build fits with every other module's bytecode, and so does --compile."""
    need_interpreter((3, 11))
    src = write_handler(tmp_path / "src", "import sklearn")
    (tmp_path / "req.txt").write_text("scikit-learn\n")
    base = ["build", str(src), "-r", str(tmp_path / "req.txt"), "--runtime", "python3.11", "--arch", "arm64"]
    for extra in ((), ("--compile",)):
        _r, data = lp_build_json([*base, "-o", str(tmp_path / "fn.zip"), *extra], cwd=tmp_path, timeout=1800)
        assert data["unzipped_total_bytes"] < LIMIT
        assert data["without_bytecode"] == [] and not [f for f in data["findings"] if f["code"] == "LP104"]
        with zipfile.ZipFile(tmp_path / "fn.zip") as zf:
            pyc = [n for n in zf.namelist() if n.startswith("sklearn/") and n.endswith(".pyc")]
        assert pyc and [n for n in pyc if "/tests/" in n] == []
