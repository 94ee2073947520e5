"""`--with-layer`: an existing layer counts toward Lambda's 262,144,000-byte unzipped limit.

The layer is a real zip of zeros (~260 MB declared, ~250 KB on disk). No network:
the function has no dependencies.
"""

from __future__ import annotations

import hashlib
import zipfile
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


def test_with_layer_with_a_non_utf8_name_is_read_not_a_crash(tmp_path: Path) -> None:
    # A name flagged UTF-8 that is not UTF-8 makes Python's zipfile raise UnicodeDecodeError;
    # the layer must be read by the same strict reader as `check` instead.
    layer = tmp_path / "badname.zip"
    with zipfile.ZipFile(layer, "w") as zf:
        info = zipfile.ZipInfo("python/abc.py")
        info.external_attr = 0o100644 << 16
        zf.writestr(info, b"x = 1\n")
    raw = bytearray(layer.read_bytes())
    for sig, flag_at in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):
        at = raw.find(sig)
        raw[at + flag_at] |= 0x08  # general-purpose bit 11: "the name is UTF-8"
    at = raw.find(b"python/abc.py")
    while at != -1:
        raw[at + 7] = 0xFF  # ... and it is not
        at = raw.find(b"python/abc.py", at + 1)
    layer.write_bytes(bytes(raw))
    src, src_bytes = _src(tmp_path)
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--with-layer", str(layer),
                "-o", str(out), "--no-compile", "--format", "json"], cwd=tmp_path)
    assert "Traceback" not in r.stderr, r.explain()
    assert r.returncode == 0, r.explain()
    assert r.json["unzipped_total_bytes"] == src_bytes + len(b"x = 1\n")


def test_with_layer_directory_counts_and_keys_the_cache_by_content(tmp_path: Path) -> None:
    """A layer given as a directory (as `check --layer` accepts) builds, counts toward the
    limit, and a changed file in it is a cache miss, never the old zip."""
    src, src_bytes = _src(tmp_path)
    layer = tmp_path / "layer-dir"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "shared.py").write_text("VALUE = 1\n", encoding="utf-8")
    args = ["build", str(src), "--runtime", "python3.12", "--arch", "arm64", "--with-layer", str(layer),
            "--no-compile", "--cache-dir", str(tmp_path / "cache")]
    _r, first = lp_build_json([*args, "-o", str(tmp_path / "1.zip")], cwd=tmp_path)
    assert first["unzipped_total_bytes"] == src_bytes + len("VALUE = 1\n")
    _r, again = lp_build_json([*args, "-o", str(tmp_path / "2.zip")], cwd=tmp_path)
    assert again["cached"] is True
    (layer / "python" / "shared.py").write_text("VALUE = 22\n", encoding="utf-8")
    _r, changed = lp_build_json([*args, "-o", str(tmp_path / "3.zip")], cwd=tmp_path)
    assert changed["cached"] is False, "a changed layer file must not reuse the old result"
    assert changed["unzipped_total_bytes"] == src_bytes + len("VALUE = 22\n")


def test_check_names_what_an_oversize_package_holds(tmp_path: Path) -> None:
    """`check` of a layer over 250 MiB says which distributions take the room (from their RECORDs),
    and never suggests dropping boto3, which it does not hold."""
    import json

    layer = make_zero_layer(tmp_path / "layer.zip", 251 << 20)
    with zipfile.ZipFile(layer) as zf:
        names = [n for n in zf.namelist() if n.endswith(".bin")]
    with zipfile.ZipFile(layer, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("python/zeros-1.0.dist-info/RECORD", (1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100644 << 16
        zf.writestr(info, "".join(f"{n.removeprefix('python/')},,\n" for n in names))
    r = run_lp(["check", "--with-layer", str(layer), "--runtime", "python3.12", "--arch", "x86_64",
                "--format", "json"], cwd=tmp_path)
    assert r.returncode == 1, r.explain()
    lp101 = next(f for f in json.loads(r.stdout)["findings"] if f["code"] == "LP101")
    assert "zeros (251.0 MiB)" in lp101["fix"], lp101
    assert "boto3" not in lp101["fix"], lp101
