"""LP101 says how much of an oversize package is the build's own bytecode, and whether
`--no-compile` would bring it within Lambda's 262,144,000-byte unzipped limit.

Offline: a function of plain modules, compiled by the real target interpreter, next to
a real `--with-layer` zip of zeros sized so that the .pyc are exactly what tips it over.
The claim is then tested both ways: the same build with --no-compile passes.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from host_pythons import need_interpreter
from lp_helpers import lp_build_json, make_zero_layer, run_lp, write_handler

LIMIT = 262_144_000
BASE = ["--runtime", "python3.12", "--arch", "x86_64"]


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """The source tree, its unzipped bytes without bytecode, and the .pyc bytes in its zip."""
    need_interpreter((3, 12))
    root = tmp_path_factory.mktemp("pyclimit")
    src = write_handler(root / "src")
    for i in range(4):
        (src / f"mod{i}.py").write_text(
            "".join(f"def f{j}(x):\n    return x * {j} + len('{j}' * 3)\n\n" for j in range(500)), encoding="utf-8")
    _r, data = lp_build_json(["build", str(src), *BASE, "-o", str(root / "fn.zip")], cwd=root)
    with zipfile.ZipFile(root / "fn.zip") as zf:
        pyc = sum(i.file_size for i in zf.infolist() if i.filename.endswith(".pyc"))
    assert pyc > 100_000, pyc
    return src, data["unzipped_total_bytes"] - pyc, pyc


def _lp101(src: Path, layer: Path, tmp: Path, *extra: str) -> dict[str, str]:
    r = run_lp(["build", str(src), *BASE, "--with-layer", str(layer), "-o", str(tmp / "out.zip"),
                "--format", "json", *extra], cwd=tmp)
    assert r.returncode == 1, r.explain()
    assert "Traceback" not in r.stderr
    (found,) = [f for f in r.json["findings"] if f["code"] == "LP101"]
    return found


def test_bytecode_alone_over_the_limit_says_no_compile_fits(measured: tuple[Path, int, int], tmp_path: Path) -> None:
    src, plain, pyc = measured
    layer = make_zero_layer(tmp_path / "layer.zip", LIMIT - plain - pyc // 2)
    f = _lp101(src, layer, tmp_path)
    said = re.search(r"; ([\d,]+) bytes \([\d.]+ (?:B|KiB|MiB|GiB)\) of it is the bytecode this build compiled", f["message"])
    assert said is not None, f
    assert int(said.group(1).replace(",", "")) == pyc
    assert f"it would be {LIMIT - pyc // 2:,} bytes" in f["message"] and "within the limit" in f["message"], f
    assert f["fix"].startswith("build with --no-compile"), f
    # ... and it is true: the same build without bytecode fits.
    _r, data = lp_build_json(["build", str(src), *BASE, "--with-layer", str(layer), "-o", str(tmp_path / "ok.zip"),
                              "--no-compile"], cwd=tmp_path)
    assert data["unzipped_total_bytes"] == LIMIT - pyc // 2


def test_over_even_without_bytecode_says_so(measured: tuple[Path, int, int], tmp_path: Path) -> None:
    src, _plain, _pyc = measured
    layer = make_zero_layer(tmp_path / "layer.zip", LIMIT)
    f = _lp101(src, layer, tmp_path)
    # Found before compiling (tests/integration/test_size_early.py): no bytecode share to quote.
    assert "that is before any bytecode, so the build stopped before compiling" in f["message"], f
    assert f["fix"].startswith("--no-compile alone is not enough"), f


def test_no_compile_build_does_not_mention_bytecode(measured: tuple[Path, int, int], tmp_path: Path) -> None:
    src, _plain, _pyc = measured
    layer = make_zero_layer(tmp_path / "layer.zip", LIMIT)
    f = _lp101(src, layer, tmp_path, "--no-compile")
    assert "bytecode" not in f["message"] and "--no-compile" not in f["fix"], f
