"""Byte-reproducible zips: same inputs -> same bytes, whatever the umask or mtimes."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import clean_env, lp_build_json, write_handler

pytestmark = pytest.mark.network


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repro")
    src = write_handler(root / "src", "import six, orjson")
    (src / "pkg").mkdir()
    (src / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (src / "pkg" / "data.json").write_text('{"a": 1}\n', encoding="utf-8")
    boot = src / "bootstrap"
    boot.write_text("#!/bin/sh\nexec python3 -m awslambdaric \"$@\"\n", encoding="utf-8")
    boot.chmod(0o755)
    (src / "lambda_function.py").chmod(0o600)  # odd source modes are normalised
    (root / "requirements.txt").write_text("six\norjson\n", encoding="utf-8")
    return root


def _build(project: Path, out: Path, *, umask: int = -1, sde: str | None = None) -> dict[str, Any]:
    extra = {} if sde is None else {"SOURCE_DATE_EPOCH": sde}
    _r, data = lp_build_json(
        ["build", str(project / "src"), "--runtime", "python3.12", "--arch", "x86_64",
         # --no-cache: the bytes must be reproduced from scratch, not copied from the cache
         "-r", str(project / "requirements.txt"), "-o", str(out), "--no-cache"],
        cwd=project, env=clean_env(extra, drop=["SOURCE_DATE_EPOCH"]), umask=umask,
    )
    [o] = data["outputs"]
    assert o["sha256"] == _sha(out), "JSON sha256 must be the sha256 of the file written"
    return data


def _touch_all(src: Path) -> None:
    files = [p for p in src.rglob("*") if p.is_file()]
    subprocess.run(["touch", *map(str, files)], check=True, env=clean_env())
    later = time.time() + 3 * 86400 + 17
    for p in files:
        os.utime(p, (later, later))


@pytest.fixture(scope="module")
def builds(project: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    a = project / "a" / "fn.zip"
    da = _build(project, a, umask=0o022)
    _touch_all(project / "src")
    b = project / "b" / "other-name.zip"
    db = _build(project, b, umask=0o077)
    c = project / "c" / "fn.zip"
    dc = _build(project, c, sde="1700000000")
    d = project / "d" / "fn.zip"
    dd = _build(project, d, sde="0")
    # The same project copied elsewhere (another checkout path) builds the same bytes.
    moved = project.parent / (project.name + "-moved")
    shutil.copytree(project / "src", moved / "src", symlinks=True)
    shutil.copy2(project / "requirements.txt", moved / "requirements.txt")
    e = moved / "fn.zip"
    de = _build(moved, e)
    return {"a": (a, da), "b": (b, db), "sde1700000000": (c, dc), "sde0": (d, dd), "moved": (e, de)}


def test_same_bytes_despite_umask_and_mtimes(builds: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    (a, da), (b, db) = builds["a"], builds["b"]
    assert a.read_bytes() == b.read_bytes()
    assert da["outputs"][0]["sha256"] == db["outputs"][0]["sha256"] == _sha(a)
    assert da["outputs"][0]["sha256_base64"] == db["outputs"][0]["sha256_base64"]


def test_same_bytes_from_another_checkout_path(builds: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    assert builds["a"][0].read_bytes() == builds["moved"][0].read_bytes()


def test_source_date_epoch_changes_bytes(builds: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    a, _ = builds["a"]
    c, dc = builds["sde1700000000"]
    assert a.read_bytes() != c.read_bytes()
    assert dc["outputs"][0]["sha256"] != _sha(a)
    with zipfile.ZipFile(c) as zf:
        stamps = {i.date_time for i in zf.infolist()}
    assert stamps == {(2023, 11, 14, 22, 13, 20)}  # 1700000000 in UTC


def test_source_date_epoch_zero_is_clamped_like_unset(builds: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    a, _ = builds["a"]
    d, _ = builds["sde0"]
    assert a.read_bytes() == d.read_bytes()


@pytest.mark.parametrize("which", ["a", "b", "sde1700000000"])
def test_zip_entry_metadata(builds: dict[str, tuple[Path, dict[str, Any]]], which: str) -> None:
    path, _ = builds[which]
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names, key=lambda n: n.encode("utf-8"))
    assert len(set(names)) == len(names)
    assert not any(n.endswith("/") for n in names), "no directory entries"
    assert len({i.date_time for i in infos}) == 1
    if which != "sde1700000000":
        assert infos[0].date_time == (1980, 1, 1, 0, 0, 0)
    modes = {}
    for i in infos:
        assert i.create_system == 3, i.filename
        st_mode = i.external_attr >> 16
        assert stat.S_ISREG(st_mode), (i.filename, oct(st_mode))
        modes[i.filename] = stat.S_IMODE(st_mode)
        assert i.extra == b"", i.filename
    assert set(modes.values()) <= {0o644, 0o755}, {n: oct(m) for n, m in modes.items() if m not in (0o644, 0o755)}
    assert modes["bootstrap"] == 0o755
    assert modes["lambda_function.py"] == 0o644
    assert modes["pkg/data.json"] == 0o644
    assert any(n.startswith("orjson/") for n in names) and "six.py" in names
