"""Verification rejects real wrong wheels that were vendored into the source tree by hand.

uv downloads genuine PyPI wheels for the wrong platforms (macOS arm64, Linux aarch64,
manylinux_2_28 x86_64) into SRC; a python3.11 x86_64 build of SRC must refuse them,
name every offending file with the right rule, and attribute each to the
distribution whose *.dist-info RECORD lists it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import (
    EM_X86_64,
    assert_no_outputs,
    clean_env,
    elf_header,
    glibc_needs,
    is_macho,
    readelf_path,
    run_lp,
    write_handler,
)
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.network

WRONG = [
    # (package, uv --python-platform)
    ("pydantic_core", "aarch64-apple-darwin"),
    ("orjson", "aarch64-manylinux_2_17"),
    ("cryptography", "x86_64-manylinux_2_28"),
]


def _dist_info(src: Path, name: str) -> Path:
    [info] = [p for p in src.glob("*.dist-info") if canonicalize_name(p.name.split("-", 1)[0]) == name]
    return info


def _owners(src: Path) -> dict[str, str]:
    """arcname -> 'Name Version' from each vendored *.dist-info (our own RECORD reading)."""
    owners = {}
    for info in src.glob("*.dist-info"):
        meta = HeaderParser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
        label = f"{meta['Name']} {meta['Version']}"
        with open(info / "RECORD", newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                if row:
                    owners[os.path.normpath(row[0]).replace(os.sep, "/")] = label
    return owners


@pytest.fixture(scope="module")
def vendored(tmp_path_factory: pytest.TempPathFactory, uv_cmd: list[str]) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("vendored")
    src = write_handler(tmp / "src", "import orjson, pydantic_core, cryptography")
    for pkg, plat in WRONG:
        proc = subprocess.run(
            [*uv_cmd, "pip", "install", "--target", str(src), "--python-platform", plat,
             "--python-version", "3.11", "--only-binary", ":all:", "--no-deps", "--no-compile-bytecode",
             "--color", "never", pkg],
            capture_output=True, text=True, env=clean_env(), timeout=300, check=False,
        )
        assert proc.returncode == 0, proc.stderr
    # The manylinux_2_28 wheel is what we asked for.
    wheel = HeaderParser().parsestr((_dist_info(src, "cryptography") / "WHEEL").read_text(encoding="utf-8"))
    tags = wheel.get_all("Tag") or []
    assert tags == ["cp311-abi3-manylinux_2_28_x86_64"], tags

    # The oracle: which files are wrong, judged without lambdapack.
    macho, wrong_machine, elf_ok = [], [], []
    for p in sorted(src.rglob("*")):
        if not p.is_file():
            continue
        head = p.read_bytes()[:64]
        rel = p.relative_to(src).as_posix()
        hdr = elf_header(head)
        if is_macho(head):
            macho.append(rel)
        elif hdr is not None and (hdr.machine, hdr.elf_class, hdr.data) != (EM_X86_64, 2, 1):
            wrong_machine.append(rel)
        elif hdr is not None:
            elf_ok.append(rel)
    out = tmp / "out.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.11", "--arch", "x86_64", "--format", "json",
                "-o", str(out)], cwd=tmp)
    return {"tmp": tmp, "src": src, "out": out, "run": r, "macho": macho, "wrong_machine": wrong_machine,
            "elf_ok": elf_ok, "owners": _owners(src)}


def _findings(v: dict[str, Any], code: str) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in v["run"].json["findings"] if f["code"] == code}


def test_build_refused_without_zip(vendored: dict[str, Any]) -> None:
    r = vendored["run"]
    assert r.returncode == 1, r.explain()
    assert "Traceback" not in r.stderr
    data = r.json
    assert data["ok"] is False
    assert data["outputs"] == []
    assert not vendored["out"].exists()
    assert_no_outputs(vendored["tmp"])


def test_lp001_every_macho_file(vendored: dict[str, Any]) -> None:
    assert vendored["macho"], "expected a Mach-O file from the macOS wheel"
    found = _findings(vendored, "LP001")
    assert sorted(found) == vendored["macho"]
    assert all(f["severity"] == "error" for f in found.values())


def test_lp002_every_wrong_machine_elf(vendored: dict[str, Any]) -> None:
    assert vendored["wrong_machine"], "expected an aarch64 ELF from the aarch64 wheel"
    found = _findings(vendored, "LP002")
    assert sorted(found) == vendored["wrong_machine"]


def test_lp003_every_glibc_too_new_elf(vendored: dict[str, Any]) -> None:
    readelf = readelf_path()
    found = _findings(vendored, "LP003")
    if readelf is None:
        print("readelf not on PATH: checking LP003 against the cryptography wheel only")
        expected = sorted(p for p in vendored["elf_ok"] if p.startswith("cryptography/"))
    else:
        expected = sorted(
            p for p in vendored["elf_ok"] if max(glibc_needs(vendored["src"] / p, readelf), default=()) > (2, 26)
        )
    assert expected, "expected the manylinux_2_28 wheel to need glibc > 2.26"
    assert sorted(found) == expected
    for f in found.values():
        assert "GLIBC_2.2" in f["message"], f
        # Only versions newer than 2.26 are named.
        assert "GLIBC_2.28" in f["message"] or "GLIBC_2.27" in f["message"], f


def test_no_finding_for_good_files(vendored: dict[str, Any]) -> None:
    bad = set(vendored["macho"]) | set(vendored["wrong_machine"])
    flagged = {f["path"] for f in vendored["run"].json["findings"] if f["severity"] == "error"}
    assert "lambda_function.py" not in flagged
    assert flagged <= bad | {f["path"] for f in vendored["run"].json["findings"] if f["code"] == "LP003"}


def test_findings_attributed_to_vendored_distribution(vendored: dict[str, Any]) -> None:
    owners = vendored["owners"]
    findings = vendored["run"].json["findings"]
    assert findings
    for f in findings:
        assert f["path"] in owners, f
        assert f["distribution"] == owners[f["path"]], f


def test_old_zip_untouched_by_failed_verification(vendored: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out.zip"
    out.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    before = hashlib.sha256(out.read_bytes()).hexdigest(), out.stat().st_mtime_ns
    r = run_lp(["build", str(vendored["src"]), "--runtime", "python3.11", "--arch", "x86_64", "-q",
                "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 1, r.explain()
    assert "error:" in r.stderr and "Traceback" not in r.stderr
    assert (hashlib.sha256(out.read_bytes()).hexdigest(), out.stat().st_mtime_ns) == before
    assert_no_outputs(tmp_path, keep=[out])
