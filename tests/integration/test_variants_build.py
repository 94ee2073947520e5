"""valkey-glide 2.6.0 (pulled by aws-lambda-powertools[valkey]) ships
glide_shared/_fast_response once per CPython version in every wheel. A python3.12 build
used to fail with LP005 errors for the others; they are dead weight: warnings with
`--slim none`, left out by the default `--slim safe`, and the module that is kept is
the one a real CPython 3.12 imports."""

from __future__ import annotations

import platform
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from host_pythons import need_interpreter
from lp_helpers import lp_build_json, run_lp, zip_names

pytestmark = [pytest.mark.network]

GLIDE = "python/glide_shared/_fast_response."
LOADED = GLIDE + "cpython-312-x86_64-linux-gnu.so"


def _build(tmp: Path, name: str, *extra: str) -> tuple[Path, dict[str, Any]]:
    req = tmp / "requirements.txt"
    req.write_text("valkey-glide==2.6.0\n", encoding="utf-8")
    out = tmp / name
    _r, data = lp_build_json(["build", "--layer", "-r", str(req), "--runtime", "python3.12", "--arch", "x86_64",
                              "--no-compile", "--no-cache", "-o", str(out), *extra], cwd=tmp)
    return out, data


def _variants(zip_path: Path) -> dict[str, int]:
    with zipfile.ZipFile(zip_path) as zf:
        return {i.filename: i.file_size for i in zf.infolist() if i.filename.startswith(GLIDE)}


def test_unslimmed_build_warns_with_the_bytes_each_wastes(tmp_path: Path) -> None:
    out, data = _build(tmp_path, "none.zip", "--slim", "none")
    shipped = _variants(out)
    assert LOADED in shipped and len(shipped) == 7, shipped  # cpython 3.9-3.14 and pypy311
    lp005 = [f for f in data["findings"] if f["code"] == "LP005"]
    assert {f["severity"] for f in lp005} == {"warning"}, lp005
    assert {f["path"].split(": ", 1)[1] for f in lp005} == set(shipped) - {LOADED}
    for f in lp005:
        size = shipped[f["path"].split(": ", 1)[1]]
        assert f"{size:,} bytes" in f["message"] and LOADED.rsplit("/", 1)[1] in f["message"], f
    # `check` on the zip agrees: no error, the same warnings.
    r = run_lp(["check", "--layer", str(out), "--runtime", "python3.12", "--arch", "x86_64", "--format", "json"])
    assert r.returncode == 0, r.explain()
    checked = [f for f in r.json["findings"] if f["code"] == "LP005"]
    assert len(checked) == 6 and {f["severity"] for f in checked} == {"warning"}


def test_default_slim_leaves_the_dead_variants_out(tmp_path: Path) -> None:
    none_zip, _ = _build(tmp_path, "none.zip", "--slim", "none")
    out, data = _build(tmp_path, "safe.zip")
    assert list(_variants(out)) == [LOADED]
    assert not [f for f in data["findings"] if f["code"] == "LP005"]
    wasted = sum(size for name, size in _variants(none_zip).items() if name != LOADED)
    saved = data["slim"]["by_distribution"]
    glide = next(v for k, v in saved.items() if k.startswith("valkey-glide "))
    assert glide == wasted, saved  # exactly the dead variants (no other slim rule hits this wheel)
    glide_files = {n for n in set(zip_names(none_zip)) - set(zip_names(out)) if n.startswith("python/glide")}
    assert glide_files == set(_variants(none_zip)) - {LOADED}  # nothing else of the package went


@pytest.mark.skipif(platform.machine() != "x86_64", reason="imports an x86_64 extension")
def test_the_kept_variant_is_what_cpython_312_imports(tmp_path: Path) -> None:
    py = need_interpreter((3, 12))
    out, _ = _build(tmp_path, "safe.zip")
    root = tmp_path / "opt"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(root)
    code = (f"import sys; sys.path[:0] = [{str(root / 'python')!r}]; import glide_shared._fast_response as m; "
            "print(m.__file__)")
    got = subprocess.run([str(py.path), "-I", "-S", "-c", code], capture_output=True, text=True, timeout=120,
                         check=False)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip().endswith(LOADED.split("python/", 1)[1])
