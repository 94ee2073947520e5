"""`--with-layer`: an existing layer counts toward Lambda's 262,144,000-byte unzipped limit.

The layer is a real zip of zeros (~260 MB declared, ~250 KB on disk). No network:
the function has no dependencies.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from lp_helpers import assert_no_outputs, lp_build_json, make_zero_layer, run_lp, write_handler

LIMIT = 262_144_000


@pytest.fixture(scope="module")
def big_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_zero_layer(tmp_path_factory.mktemp("layers") / "big-layer.zip", LIMIT + 1)


def _src(tmp: Path) -> tuple[Path, int]:
    src = write_handler(tmp / "src")
    return src, sum(p.stat().st_size for p in src.rglob("*") if p.is_file())


def test_with_layer_over_limit_fails_lp101(big_layer: Path, tmp_path: Path) -> None:
    src, _ = _src(tmp_path)
    out = tmp_path / "out" / "fn.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "arm64", "--with-layer", str(big_layer),
                "-o", str(out), "--format", "json"], cwd=tmp_path)
    assert r.returncode == 1, r.explain()
    assert "Traceback" not in r.stderr
    data = r.json
    codes = [f["code"] for f in data["findings"]]
    assert "LP101" in codes, data["findings"]
    assert data["ok"] is False
    assert data["outputs"] == []
    assert not out.exists()
    assert_no_outputs(tmp_path)


def test_with_layer_over_limit_text_and_old_zip_kept(big_layer: Path, tmp_path: Path) -> None:
    src, _ = _src(tmp_path)
    out = tmp_path / "fn.zip"
    out.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    before = hashlib.sha256(out.read_bytes()).hexdigest(), out.stat().st_mtime_ns
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "arm64", "--with-layer", str(big_layer),
                "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 1, r.explain()
    assert "LP101" in r.stdout + r.stderr
    assert "error:" in r.stderr and "Traceback" not in r.stderr
    assert (hashlib.sha256(out.read_bytes()).hexdigest(), out.stat().st_mtime_ns) == before
    assert_no_outputs(tmp_path, keep=[out])


def test_with_layer_just_under_limit_passes(tmp_path: Path) -> None:
    src, src_bytes = _src(tmp_path)
    layer_size = LIMIT - src_bytes - 1
    layer = make_zero_layer(tmp_path / "layer.zip", layer_size)
    out = tmp_path / "fn.zip"
    _r, data = lp_build_json(["build", str(src), "--runtime", "python3.12", "--arch", "arm64",
                              "--with-layer", str(layer), "-o", str(out), "--no-compile"], cwd=tmp_path)
    assert out.is_file()
    assert data["unzipped_total_bytes"] == layer_size + src_bytes
    assert not [f for f in data["findings"] if f["code"] == "LP101"]


def test_with_layer_unreadable_is_input_error(tmp_path: Path) -> None:
    src, _ = _src(tmp_path)
    bogus = tmp_path / "not-a-zip.zip"
    bogus.write_text("hello", encoding="utf-8")
    out = tmp_path / "out" / "fn.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "arm64", "--with-layer", str(bogus),
                "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 2, r.explain()
    assert "error:" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
