"""LP205 on real `--split` builds with bytecode: both the function and the layer have
`__pycache__/` folders, which are not modules, so nothing clashes; a module the user
ships and a dependency also provides still does."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from host_pythons import need_interpreter
from lp_helpers import lp_build_json

pytestmark = [pytest.mark.network]


def _split(tmp: Path, files: dict[str, str]) -> tuple[list[dict[str, str]], list[str]]:
    need_interpreter((3, 12))  # bytecode is compiled by a local 3.12: without it there is no __pycache__
    src = tmp / "src"
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    (tmp / "requirements.txt").write_text("six==1.17.0\n", encoding="utf-8")
    out = tmp / "fn.zip"
    _r, data = lp_build_json(["build", str(src), "-r", str(tmp / "requirements.txt"), "--split", "--runtime",
                              "python3.12", "--arch", "x86_64", "--no-cache", "-o", str(out)], cwd=tmp)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
    return [f for f in data["findings"] if f["code"] == "LP205"], names


def test_pycache_in_function_and_layer_is_not_a_clash(tmp_path: Path) -> None:
    found, names = _split(tmp_path, {"app.py": "import six\ndef handler(e, c):\n    return six.PY3\n"})
    assert "__pycache__/app.cpython-312.pyc" in names  # the situation that used to warn
    assert found == []


def test_a_module_in_both_still_warns(tmp_path: Path) -> None:
    found, _names = _split(tmp_path, {"app.py": "def handler(e, c):\n    return 1\n", "six.py": "PY3 = True\n"})
    assert [(f["path"], f["severity"]) for f in found] == [("six", "warning")]
