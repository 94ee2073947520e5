"""pyproject.toml (with extras) and uv.lock inputs, found in SRC_DIR or given explicitly."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lp_helpers import clean_env, lp_build_json

pytestmark = pytest.mark.network

PYPROJECT = """[project]
name = "app"
version = "0.1"
requires-python = ">=3.10"
dependencies = ["six==1.17.0", "attrs==25.4.0"]

[project.optional-dependencies]
fast = ["orjson==3.13.0"]
"""


def _project(root: Path, lock: bool) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "app.py").write_text("def handler(e, c):\n    return 1\n", encoding="utf-8")
    if lock:
        subprocess.run([sys.executable, "-m", "uv", "lock", "--project", str(root), "-q"], check=True,
                       env=clean_env())
    return root


@pytest.mark.parametrize("lock", [False, True], ids=["pyproject", "uv.lock"])
def test_project_inputs_with_extras(tmp_path: Path, lock: bool) -> None:
    src = _project(tmp_path / "app", lock)
    out = tmp_path / "fn.zip"
    _r, data = lp_build_json(["build", str(src), "--runtime", "python3.12", "--arch", "arm64", "-o", str(out),
                              "--extra", "fast", "--no-compile"], cwd=tmp_path)
    assert data["inputs"]["kind"] == ("lock" if lock else "pyproject")
    assert data["inputs"]["extras"] == ["fast"]
    names = {d["name"].lower().replace("_", "-"): d["version"] for d in data["distributions"]}
    assert names["six"] == "1.17.0" and "attrs" in names and names["orjson"] == "3.13.0"
    listing = zipfile.ZipFile(out).namelist()
    assert "app.py" in listing and "six.py" in listing
    assert any(n.startswith("orjson/") and "aarch64" in n for n in listing)
    # Without the extra, the optional group stays out.
    out2 = tmp_path / "fn2.zip"
    _r, data2 = lp_build_json(["build", str(src), "--runtime", "python3.12", "--arch", "arm64", "-o", str(out2),
                               "--no-compile"], cwd=tmp_path)
    assert "orjson" not in {d["name"].lower() for d in data2["distributions"]}
