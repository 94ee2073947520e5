"""Environment markers are evaluated for Lambda, never for this machine."""

from __future__ import annotations

import zipfile
from typing import Any

import pytest
from lp_helpers import lp_build_json, write_handler
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.network

REQS = 'six; platform_machine == "aarch64"\ntyping-extensions; python_version < "3.12"\n'


@pytest.fixture(scope="module", params=[("python3.12", "arm64"), ("python3.11", "x86_64")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    runtime, arch = request.param
    tmp = tmp_path_factory.mktemp(f"markers-{runtime}-{arch}")
    src = write_handler(tmp / "src")
    req = tmp / "requirements.txt"
    req.write_text(REQS, encoding="utf-8")
    out = tmp / "fn.zip"
    _r, data = lp_build_json(
        ["build", str(src), "--runtime", runtime, "--arch", arch, "-r", str(req), "-o", str(out)], cwd=tmp
    )
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
    return {"runtime": runtime, "data": data, "names": names,
            "dists": {canonicalize_name(d["name"]) for d in data["distributions"]}}


def test_markers_select_per_target(built: dict[str, Any]) -> None:
    dists, names = built["dists"], built["names"]
    if built["runtime"] == "python3.12":  # arm64, Python 3.12: six only
        assert dists == {"six"}
        assert "six.py" in names
        assert not any(n.startswith("typing_extensions") for n in names)
    else:  # x86_64, Python 3.11: typing-extensions only
        assert dists == {"typing-extensions"}
        assert "typing_extensions.py" in names
        assert not any(n.startswith("six") for n in names)
