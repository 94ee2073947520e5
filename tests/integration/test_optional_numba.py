"""numba from PyPI: its threading layers' missing libraries are LP007 warnings, the build
succeeds, and the built layer really runs a parallel function on the workqueue layer.

numba's omppool/tbbpool need libgomp.so.1.0.0 and libtbb.so.12, which neither the wheel
nor Amazon Linux 2023 provides (facts/optional). The import check hides every library
of those two that this machine has (a bind mount in a private mount namespace, as root
only), so the loader sees what Lambda would, and numba must pick "workqueue".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from host_pythons import need_interpreter
from lp_helpers import clean_env, lp_build_json

pytestmark = [pytest.mark.network]

_PARALLEL = """
import numba, numpy as np
from numba import njit, prange
@njit(parallel=True)
def total(a):
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i]
    return s
print(total(np.arange(1000.0)), numba.threading_layer())
"""


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    work = tmp_path_factory.mktemp("numba")
    (work / "requirements.txt").write_text("numba\n", encoding="utf-8")
    out = work / "layer.zip"
    _, data = lp_build_json(["build", "--layer", "-r", str(work / "requirements.txt"), "--runtime", "python3.12",
                             "--arch", "x86_64", "--no-compile", "-q", "-o", str(out)], timeout=900)
    with zipfile.ZipFile(out) as zf:
        zf.extractall(work / "x")
    return data, work / "x" / "python"


def test_numba_builds_with_its_threading_layers_as_warnings(layer: tuple[dict[str, object], Path]) -> None:
    data, _ = layer
    assert data["ok"] is True
    lp007 = [f for f in data["findings"] if f["code"] == "LP007"]  # type: ignore[attr-defined]
    got = sorted((f["severity"], re.sub(r"\.cpython-312-x86_64-linux-gnu\.so$", "", f["path"].rsplit("/", 1)[-1]))
                 for f in lp007)
    assert got == [("warning", "omppool"), ("warning", "tbbpool")], lp007
    assert all("workqueue" in f["message"] for f in lp007)
    assert not [f for f in data["findings"] if f["severity"] == "error"]  # type: ignore[attr-defined]


@pytest.mark.skipif(os.name != "posix" or not hasattr(os, "geteuid") or os.geteuid() != 0
                    or shutil.which("unshare") is None or shutil.which("ldd") is None,
                    reason="hiding host libraries needs root, unshare and ldd")
def test_the_built_layer_runs_numba_in_parallel_on_the_workqueue_layer(layer: tuple[dict[str, object], Path]) -> None:
    _, root = layer
    python = need_interpreter((3, 12))
    ufunc = root / "numba" / "np" / "ufunc"
    hide: set[str] = set()
    for so in (*ufunc.glob("omppool.*.so"), *ufunc.glob("tbbpool.*.so")):
        ldd = subprocess.run(["ldd", str(so)], capture_output=True, text=True, timeout=60, check=False).stdout
        hide |= set(re.findall(r"(?:libgomp|libtbb)\S* => (/\S+)", ldd))
    mounts = "".join(f"mount --bind /dev/null {p} && " for p in sorted(hide))
    script = f"{mounts}exec {python.path} -I -c \"import sys; sys.path.insert(0, '{root}'); exec(sys.stdin.read())\""
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], input=_PARALLEL, capture_output=True, text=True,
                       env=clean_env(drop=["LD_LIBRARY_PATH"]), timeout=300, check=False)
    if r.returncode != 0 and "unshare" in r.stderr and "ermission" in r.stderr:
        pytest.skip(f"no mount namespace here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["499500.0", "workqueue"], (hide, r.stdout, r.stderr)
