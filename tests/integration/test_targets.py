"""Real builds for a target: every binary in the zip fits that target's CPU and glibc.

The oracle is independent of lambdapack: ELF headers are struct-unpacked here, and
the GLIBC symbol versions come from GNU `readelf -V`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import (
    EM_AARCH64,
    EM_X86_64,
    elf_header,
    extract_elf_members,
    glibc_needs,
    lp_build_json,
    require_readelf,
    so_members,
    write_handler,
)
from packaging.utils import canonicalize_name
from packaging.version import Version

pytestmark = pytest.mark.network


def _build(tmp: Path, runtime: str, arch: str, reqs: list[str]) -> tuple[Path, dict[str, Any]]:
    src = write_handler(tmp / "src", "import json")
    req = tmp / "requirements.txt"
    req.write_text("\n".join(reqs) + "\n", encoding="utf-8")
    out = tmp / "out" / "function.zip"
    _run, data = lp_build_json(
        ["build", str(src), "--runtime", runtime, "--arch", arch, "-r", str(req), "-o", str(out)], cwd=tmp
    )
    assert out.is_file()
    return out, data


@pytest.fixture(scope="module")
def arm312(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    return _build(tmp_path_factory.mktemp("arm312"), "python3.12", "arm64", ["numpy", "pydantic"])


@pytest.fixture(scope="module")
def x86_311(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    return _build(tmp_path_factory.mktemp("x86311"), "python3.11", "x86_64", ["cryptography", "numpy"])


def _dist_names(data: dict[str, Any]) -> set[str]:
    return {canonicalize_name(d["name"]) for d in data["distributions"]}


def _assert_all_elf_machine(zip_path: Path, machine: int) -> int:
    """Every .so member is a 64-bit little-endian ELF for `machine`; so is every other ELF."""
    with zipfile.ZipFile(zip_path) as zf:
        sos = so_members(zf)
        assert sos, "expected native code in the zip"
        bad = []
        for info in sos:
            hdr = elf_header(zf.read(info))
            if hdr is None or (hdr.elf_class, hdr.data, hdr.machine) != (2, 1, machine):
                bad.append((info.filename, hdr))
        # ELF files that are not named *.so (executables, oddly named libraries) too.
        for info in zf.infolist():
            with zf.open(info) as f:
                hdr = elf_header(f.read(64))
            if hdr is not None and hdr.machine != machine:
                bad.append((info.filename, hdr))
    assert bad == [], f"wrong ELF machine (want e_machine {machine}): {bad}"
    return len(sos)


def _assert_glibc_at_most(zip_path: Path, tmp: Path, limit: tuple[int, int]) -> None:
    readelf = require_readelf()
    files = extract_elf_members(zip_path, tmp)
    assert files
    too_new = {}
    for arc, path in files.items():
        needs = glibc_needs(path, readelf)
        worst = max(needs, default=())
        if worst > limit:
            too_new[arc] = ".".join(map(str, worst))
    assert too_new == {}, f"needs GLIBC > {limit}: {too_new}"


# --- 1. numpy + pydantic, python3.12 arm64 ------------------------------------------


def test_arm64_report_ok(arm312: tuple[Path, dict[str, Any]]) -> None:
    out, data = arm312
    assert data["ok"] is True
    assert data["findings"] == []
    assert data["target"]["runtime"] == "python3.12"
    assert data["target"]["arch"] == "arm64"
    assert {"numpy", "pydantic", "pydantic-core"} <= _dist_names(data)
    for d in data["distributions"]:
        assert "aarch64" in d["wheel_tag"] or d["wheel_tag"].endswith("-any"), d
    [o] = data["outputs"]
    assert Path(o["path"]).resolve() == out.resolve()


def test_arm64_every_so_is_aarch64(arm312: tuple[Path, dict[str, Any]]) -> None:
    out, _ = arm312
    n = _assert_all_elf_machine(out, EM_AARCH64)
    assert n >= 2  # numpy's extension modules and pydantic_core's


def test_arm64_glibc_at_most_2_34(arm312: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out, _ = arm312
    _assert_glibc_at_most(out, tmp_path, (2, 34))


def test_arm64_has_handler_and_packages(arm312: tuple[Path, dict[str, Any]]) -> None:
    out, _ = arm312
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
    assert "lambda_function.py" in names
    assert "numpy/__init__.py" in names
    assert "pydantic/__init__.py" in names
    # Bytecode, when shipped, is for the target's Python only (never this machine's).
    assert all(n.endswith(".cpython-312.pyc") and "/__pycache__/" in "/" + n for n in names if n.endswith(".pyc"))
    assert not any(n.startswith("bin/") for n in names)


# --- 2. cryptography + numpy, python3.11 x86_64 (glibc 2.26) -------------------------


def test_x86_311_every_so_is_x86_64(x86_311: tuple[Path, dict[str, Any]]) -> None:
    out, data = x86_311
    assert data["ok"] is True and data["findings"] == []
    assert {"cryptography", "numpy"} <= _dist_names(data)
    _assert_all_elf_machine(out, EM_X86_64)


def test_x86_311_glibc_at_most_2_26(x86_311: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out, _ = x86_311
    _assert_glibc_at_most(out, tmp_path, (2, 26))


def test_x86_311_numpy_held_back(x86_311: tuple[Path, dict[str, Any]]) -> None:
    _out, data = x86_311
    numpy = [d for d in data["distributions"] if canonicalize_name(d["name"]) == "numpy"]
    assert len(numpy) == 1
    held = {canonicalize_name(h["name"]): h for h in data["held_back"]}
    assert "numpy" in held, data["held_back"]
    h = held["numpy"]
    assert h["chosen"] == numpy[0]["version"]
    assert Version(h["chosen"]).release[:2] == (2, 2), h
    assert Version(h["newest"]) > Version(h["chosen"]), h
    assert h["reason"].strip(), h
    assert "glibc" in h["reason"].lower(), h
