"""The zip's bytes do not depend on the Python that writes it (issue 14: one deflate everywhere).

CPython's zlib module is whatever zlib the build links (zlib 1.2/1.3 here, zlib-ng on Fedora 40+
and CPython 3.14 for Windows), and each writes other deflate bytes. lambdapack compresses with
the bundled libdeflate instead: the same members give the same zip under every interpreter.

The interpreters are real (pyenv's 3.10 and 3.13 beside this test's own), each in its own venv
with only the pinned `deflate` wheel from PyPI. A zlib-ng-linked CPython is not on this machine,
so one child makes the real zlib-ng (the `zlib-ng` package, python-zlib-ng) its `zlib` module
before lambdapack is imported: what such a Python's zlib would be. A control shows that zlib and
zlib-ng really write different bytes for the same input, so the comparison could fail.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import deflate
import pytest
import uv
from host_pythons import pyenv_python
from lp_helpers import clean_env, write_handler

pytestmark = pytest.mark.network

SRC = Path(__file__).resolve().parents[2] / "src"

# Writes the zip of every file under argv[1] into argv[2]; prints its sha256, what the zlib
# module is, and zlib's own deflate of the largest file (the control).
_CHILD = textwrap.dedent('''
    import hashlib, json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[4])  # this checkout's lambdapack (-I ignores PYTHONPATH)
    if sys.argv[3] == "zlib-ng":
        from zlib_ng import zlib_ng
        sys.modules["zlib"] = zlib_ng  # what a zlib-ng-linked CPython's zlib module is
    import zlib
    from lambdapack.pack.codec import CODEC
    from lambdapack.pack.zipwriter import ZipSettings, write_zip_to
    from lambdapack.staged import StagedFile
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    files = sorted(p for p in root.rglob("*") if p.is_file())
    entries = [StagedFile(p.relative_to(root).as_posix(), p, False, p.stat().st_size, None) for p in files]
    written = write_zip_to(entries, out.with_suffix(".tmp"), out, ZipSettings(date_time=(2020, 1, 1, 0, 0, 0)))
    out.with_suffix(".tmp").replace(out)
    largest = max(files, key=lambda p: p.stat().st_size).read_bytes()
    c = zlib.compressobj(6, zlib.DEFLATED, -15)  # zlib.compress takes wbits from 3.11 on
    print(json.dumps({"sha256": written.sha256_hex, "codec": CODEC.name, "fallback": CODEC.fallback,
                      "zlib": getattr(zlib, "ZLIBNG_VERSION", None) or zlib.ZLIB_RUNTIME_VERSION,
                      "zlib_ng": hasattr(zlib, "ZLIBNG_VERSION"), "python": sys.version.split()[0],
                      "control": hashlib.sha256(c.compress(largest) + c.flush()).hexdigest()}))
''')


def _venv(where: Path, python: str, *packages: str) -> Path:
    """A venv of `python` holding only `packages` from PyPI (no pip configuration: uv reads none)."""
    uv_bin = uv.find_uv_bin()
    env = clean_env()
    subprocess.run([uv_bin, "venv", "-q", "--python", python, str(where)], check=True, env=env, timeout=120)
    exe = where / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    subprocess.run([uv_bin, "pip", "install", "-q", "--python", str(exe), *packages], check=True, env=env,
                   timeout=300)
    return exe


def _members(tmp: Path) -> Path:
    """Real files of every kind: this package's sources, a real shared library, a file over
    the 1 MiB that takes the large-member path."""
    root = tmp / "members"
    for p in sorted((SRC / "lambdapack").rglob("*.py")):
        dest = root / "src" / p.relative_to(SRC)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(p.read_bytes())
    lib = next(Path(deflate.__file__).parent.glob("_deflate*"))
    (root / "lib").mkdir()
    (root / "lib" / lib.name).write_bytes(lib.read_bytes())
    words = [w for w in (SRC / "lambdapack" / "pack" / "members.py").read_text().split() if w]
    rng = random.Random(0)
    (root / "big.txt").write_text(" ".join(rng.choice(words) for _ in range(400_000)), encoding="utf-8")
    assert (root / "big.txt").stat().st_size > 1 << 20
    return root


def test_the_same_members_give_the_same_zip_under_every_python_and_zlib(tmp_path: Path) -> None:
    root = _members(tmp_path)
    pythons = [("this", sys.executable, "zlib")]
    for minor in (10, 13):
        found = pyenv_python(minor)
        if found is not None and not found.startswith(sys.exec_prefix):
            pythons.append((f"3.{minor}", found, "zlib"))
    pythons.append(("zlib-ng", sys.executable, "zlib-ng"))
    if len(pythons) < 3:
        pytest.skip("needs another CPython (pyenv 3.10 or 3.13) beside this one")
    runs = {}
    for label, python, zlib_kind in pythons:
        extra = ("zlib-ng==1.1.0",) if zlib_kind == "zlib-ng" else ()
        exe = _venv(tmp_path / f"venv-{label}", python, "deflate==0.9.0", *extra)
        out = tmp_path / f"{label}.zip"
        p = subprocess.run([str(exe), "-I", "-c", _CHILD, str(root), str(out), zlib_kind, str(SRC)],
                           capture_output=True, text=True, env=clean_env(), timeout=300, check=False)
        assert p.returncode == 0, p.stderr
        runs[label] = json.loads(p.stdout)
        with zipfile.ZipFile(out) as zf:
            assert zf.testzip() is None
            assert zf.read("big.txt") == (root / "big.txt").read_bytes()
    assert len({r["python"] for r in runs.values()}) >= 2, runs
    assert runs["zlib-ng"]["zlib_ng"] and not runs["this"]["zlib_ng"], runs
    # The control: the two zlib modules write different deflate for the same file...
    assert runs["zlib-ng"]["control"] != runs["this"]["control"], runs
    # ...and lambdapack's zips are identical under all of them, by the bundled codec.
    assert {r["codec"] for r in runs.values()} == {"libdeflate-0.9.0"}, runs
    assert all(r["fallback"] is None for r in runs.values()), runs
    assert len({r["sha256"] for r in runs.values()}) == 1, runs


def _raw_members(path: Path) -> dict[str, tuple[int, bytes]]:
    """Each member's (method, stored bytes), read from its local header by hand."""
    out = {}
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
            start = info.header_offset + 30 + name_len + extra_len
            out[info.filename] = (info.compress_type, data[start:start + info.compress_size])
    return out


# Runs the CLI with the zlib module unable to compress: any member it would write fails the build.
_NO_ZLIB = textwrap.dedent('''
    import runpy, sys, zlib
    def refuse(*args, **kwargs):
        raise AssertionError("a member was compressed with the zlib module")
    zlib.compress = zlib.compressobj = refuse
    sys.argv = ["lambdapack", *sys.argv[1:]]
    runpy.run_module("lambdapack", run_name="__main__")
''')


def test_no_member_of_a_build_comes_from_the_zlib_module(tmp_path: Path) -> None:
    """A real build (a PyPI dependency, bytecode, a large source file) with zlib's compressors
    poisoned succeeds, and every deflated member is exactly libdeflate's output for its content."""
    src = write_handler(tmp_path / "app")
    rng = random.Random(1)
    (src / "table.csv").write_text("\n".join(f"{i},{rng.random():.6f}" for i in range(120_000)), encoding="utf-8")
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    out = tmp_path / "function.zip"
    p = subprocess.run(
        [sys.executable, "-c", _NO_ZLIB, "build", str(src), "-r", str(tmp_path / "requirements.txt"),
         "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, env=clean_env(), timeout=600, check=False)
    assert p.returncode == 0, p.stderr
    members = _raw_members(out)
    assert "six.py" in members and "table.csv" in members
    assert any(n.endswith(".pyc") for n in members), sorted(members)
    with zipfile.ZipFile(out) as zf:
        for name, (method, stored) in members.items():
            content = zf.read(name)
            if method == zipfile.ZIP_DEFLATED:
                assert stored == bytes(deflate.deflate_compress(content, 6)), name
            else:
                assert method == zipfile.ZIP_STORED and stored == content, name
    assert hashlib.sha256(members["table.csv"][1]).digest()  # the large member went through it too


_NO_DEFLATE = textwrap.dedent('''
    import runpy, sys
    sys.modules["deflate"] = None  # a platform where the bundled codec cannot be loaded
    sys.argv = ["lambdapack", *sys.argv[1:]]
    runpy.run_module("lambdapack", run_name="__main__")
''')


def test_without_the_bundled_codec_the_build_warns_and_writes_a_valid_zip(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "app", "import json")
    out = tmp_path / "function.zip"
    p = subprocess.run(
        [sys.executable, "-c", _NO_DEFLATE, "build", str(src), "--runtime", "python3.12", "--arch", "x86_64",
         "-o", str(out), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, env=clean_env(), timeout=600, check=False)
    assert p.returncode == 0, p.stderr
    said = p.stdout + p.stderr
    assert "warning: the bundled deflate codec cannot be loaded" in said and "may differ" in said, said
    assert "Traceback" not in said
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert b"lambda_handler" in zf.read("lambda_function.py")
