"""`lambdapack smoke`: real zips (built by the CLI from PyPI), really imported by this
machine's interpreters, laid out like Lambda.

Whether this machine has an interpreter for a target is decided here independently of
lambdapack (PATH and pyenv, each run), so a bug in lambdapack's own search cannot turn
a test into a skip.
"""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lp_helpers import lp_build_json, write_handler

from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.inspect.smoke import ModuleResult, SmokeResult, smoke
from lambdapack.target.tags import Target

REQS = "requests\npydantic\n"
HANDLER = "lambda_function.lambda_handler"


def _interpreters(minor: str) -> list[tuple[str, str]]:
    """(path, machine) of every working CPython `python{minor}` on PATH or in pyenv."""
    cands = [Path(d) / f"python{minor}" for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    root = Path(os.environ.get("PYENV_ROOT") or Path("~/.pyenv").expanduser())
    cands += sorted(root.glob(f"versions/*/bin/python{minor}"))
    out = []
    for c in cands:
        try:
            p = subprocess.run([c, "-I", "-c", "import platform, sys; print(sys.executable, platform.machine())"],
                               capture_output=True, text=True, timeout=20, check=False)
        except OSError:
            continue
        if p.returncode == 0 and p.stdout.strip():
            exe, machine = p.stdout.split()
            out.append((exe, machine))
    return out


def need_python(minor: str, machine: str = "x86_64") -> str:
    for exe, m in _interpreters(minor):
        if m == machine:
            return exe
    pytest.skip(f"this machine has no python{minor} for {machine}")


def target(rt: str, arch: str = "x86_64") -> Target:
    return Target(get_runtime(rt), get_arch(arch))


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point tempfile at a fresh directory so each test can prove the smoke root is gone."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch
    assert list(scratch.iterdir()) == [], "the smoke test left its extraction root behind"


def build(tmp: Path, rt: str, arch: str, *, reqs: str | None = REQS, body: str = "import requests, pydantic",
          extra: list[str] | None = None, name: str = "fn") -> Path:
    src = write_handler(tmp / f"src-{name}", body)
    args = ["build", str(src), "--runtime", rt, "--arch", arch, "-o", str(tmp / f"{name}.zip"), "--no-compile"]
    if reqs is not None:
        (tmp / f"req-{name}.txt").write_text(reqs, encoding="utf-8")
        args += ["-r", str(tmp / f"req-{name}.txt")]
    lp_build_json(args + (extra or []), cwd=tmp)
    return tmp / f"{name}.zip"


def by_module(r: SmokeResult) -> dict[str, ModuleResult]:
    return {m.module: m for m in r.results}


# -- network: zips built from PyPI ---------------------------------------------------------


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("smoke-builds")
    out = {
        "x86": build(tmp, "python3.12", "x86_64", name="x86"),
        "arm": build(tmp, "python3.12", "arm64", name="arm"),
        "py311": build(tmp, "python3.11", "x86_64", name="py311"),
    }
    # (c): the x86_64 zip with pydantic_core's extension replaced by the aarch64 one.
    with zipfile.ZipFile(out["arm"]) as arm:
        [arm_so] = [n for n in arm.namelist() if n.startswith("pydantic_core/") and n.endswith(".so")]
        arm_bytes = arm.read(arm_so)
    swapped = tmp / "swapped.zip"
    with zipfile.ZipFile(out["x86"]) as src, zipfile.ZipFile(swapped, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            is_so = info.filename.startswith("pydantic_core/") and info.filename.endswith(".so")
            dst.writestr(info, arm_bytes if is_so else src.read(info))
    out["swapped"] = swapped
    return out


@pytest.mark.network
def test_a_x86_64_zip_passes_every_module_with_a_time(builds: dict[str, Path]) -> None:
    need_python("3.12")
    r = smoke(builds["x86"], [], target("python3.12"))
    assert r.status == "passed", r
    assert r.reason is None and not r.wrote_files
    assert r.interpreter is not None and r.interpreter.minor == (3, 12) and r.interpreter.machine == "x86_64"
    mods = by_module(r)
    for name in ("lambda_function", "requests", "pydantic", "pydantic_core", "urllib3", "typing_extensions"):
        assert name in mods, sorted(mods)
    assert not any(".dist-info" in m or m == "__pycache__" for m in mods)
    for m in r.results:
        assert m.ok and m.error is None and m.findings == []
        # A time is reported; its size is the machine's load, bounded by the 120 s import timeout.
        assert m.seconds is not None and 0 < m.seconds <= 120

    h = smoke(builds["x86"], [], target("python3.12"), handler=HANDLER)
    assert h.status == "passed" and [m.module for m in h.results] == ["lambda_function"]


@pytest.mark.network
def test_b_arm64_zip_is_skipped_on_an_x86_64_host(builds: dict[str, Path]) -> None:
    if platform.machine() != "x86_64":
        pytest.skip("the cross-architecture case is written for an x86_64 host")
    if any(m == "aarch64" for _, m in _interpreters("3.12")):
        pytest.skip("this machine can run aarch64 Python 3.12 (emulation); nothing to skip")
    if any(p.endswith("python3.12") for p in os.environ.get("LAMBDAPACK_SMOKE_PYTHON_AARCH64", "").split(os.pathsep)):
        pytest.skip("an aarch64 Python 3.12 is named for qemu (test_smoke_qemu.py); nothing to skip")
    r = smoke(builds["arm"], [], target("python3.12", "arm64"))
    assert r.status == "skipped"
    assert r.reason is not None and "arm64" in r.reason and "aarch64" in r.reason
    assert r.results == [] and r.interpreter is None


@pytest.mark.network
def test_c_foreign_extension_fails_with_the_lp002_finding(builds: dict[str, Path]) -> None:
    need_python("3.12")
    r = smoke(builds["swapped"], [], target("python3.12"))
    assert r.status == "failed"
    mods = by_module(r)
    for name in ("pydantic", "pydantic_core", "lambda_function"):
        m = mods[name]
        assert not m.ok and m.error is not None and m.error.startswith("ImportError:"), m
        codes = {(f.code, f.path) for f in m.findings}
        assert any(c == "LP002" and p.startswith("pydantic_core/") and p.endswith(".so") for c, p in codes), m
    assert "/var/task/pydantic_core/" in (mods["pydantic"].error or "")
    # The rest of the package is unaffected and says so.
    for name in ("requests", "urllib3", "typing_extensions"):
        assert mods[name].ok and mods[name].findings == []
    assert r.reason is not None and "pydantic" in r.reason


@pytest.fixture(scope="module")
def layered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("smoke-layer")
    (tmp / "req.txt").write_text("requests\n", encoding="utf-8")
    layer = tmp / "layer.zip"
    lp_build_json(["build", "--layer", "--runtime", "python3.12", "--arch", "x86_64", "-r", str(tmp / "req.txt"),
                   "-o", str(layer)], cwd=tmp)
    fn = build(tmp, "python3.12", "x86_64", reqs=None,
               body="from requests import Session\nassert Session.__module__ == 'requests.sessions'")
    return fn, layer


@pytest.mark.network
def test_d_handler_imports_from_a_layer(layered: tuple[Path, Path]) -> None:
    need_python("3.12")
    fn, layer = layered
    with zipfile.ZipFile(fn) as zf:
        assert zf.namelist() == ["lambda_function.py"]
    r = smoke(fn, [layer], target("python3.12"), handler=HANDLER)
    assert r.status == "passed", r
    # Every top-level module of the function and the layer, without --handler.
    r = smoke(fn, [layer], target("python3.12"))
    assert r.status == "passed", r
    assert {"lambda_function", "requests", "urllib3", "idna", "certifi"} <= set(by_module(r))
    # Without the layer the same function cannot import.
    r = smoke(fn, [], target("python3.12"), handler=HANDLER)
    assert r.status == "failed" and "No module named 'requests'" in (r.results[0].error or "")


@pytest.mark.network
def test_e_handler_function_missing(builds: dict[str, Path]) -> None:
    need_python("3.12")
    r = smoke(builds["x86"], [], target("python3.12"), handler="lambda_function.handler")
    assert r.status == "failed"
    [m] = r.results
    assert m.module == "lambda_function" and not m.ok
    assert m.error is not None and "has no attribute 'handler'" in m.error and "HandlerNotFound" in m.error
    assert [f.code for f in m.findings] == ["LP204"]


@pytest.mark.network
def test_h_python311_build_passes_with_this_machines_311(builds: dict[str, Path]) -> None:
    need_python("3.11")
    r = smoke(builds["py311"], [], target("python3.11"))
    assert r.status == "passed", r
    assert r.interpreter is not None and r.interpreter.minor == (3, 11)
    assert {"requests", "pydantic", "pydantic_core", "lambda_function"} <= set(by_module(r))
    assert all(m.ok and m.seconds is not None for m in r.results)


# -- local zips (no network) ----------------------------------------------------------------


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_f_isolated_from_this_machines_site_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests is installed for the smoke interpreter but not in the zip: must fail."""
    exe = next((e for e, m in _interpreters("3.11") if m == "x86_64" and subprocess.run(
        [e, "-c", "import requests, boto3"], capture_output=True, check=False).returncode == 0), None)
    if exe is None:
        pytest.skip("no python3.11 here has requests and boto3 installed, so isolation would prove nothing")
    # Make that interpreter the one smoke finds first (the first python3.11 on PATH).
    monkeypatch.setenv("PATH", f"{Path(exe).parent}{os.pathsep}{os.environ['PATH']}")
    src = write_handler(tmp_path / "src", "import requests")
    fn = tmp_path / "fn.zip"
    lp_build_json(["build", str(src), "--runtime", "python3.11", "--arch", "x86_64", "-o", str(fn),
                   "--no-compile"], cwd=tmp_path)
    with zipfile.ZipFile(fn) as zf:
        assert zf.namelist() == ["lambda_function.py"]
    r = smoke(fn, [], target("python3.11"), handler=HANDLER)
    assert r.status == "failed"
    [m] = r.results
    assert r.interpreter is not None and r.interpreter.path.startswith(f"{Path(exe).parent}/python3.11")
    assert m.error is not None and m.error.startswith("ModuleNotFoundError: No module named 'requests'")
    assert "/var/task/lambda_function.py:1" in m.error

    # boto3: absent by default with a hint; --with-runtime-boto3 admits the SDK only.
    z = _zip(tmp_path / "sdk.zip", {"app.py": "import boto3\n\ndef h(e, c):\n    return 1\n"})
    r = smoke(z, [], target("python3.11"), handler="app.h")
    assert r.status == "failed" and "part of the Lambda runtime" in (r.results[0].error or "")
    r = smoke(z, [], target("python3.11"), handler="app.h", with_runtime_boto3=True)
    assert r.status == "passed", r
    r = smoke(fn, [], target("python3.11"), handler=HANDLER, with_runtime_boto3=True)
    assert r.status == "failed" and "No module named 'requests'" in (r.results[0].error or "")


def test_g_nothing_written_into_the_tree_and_writes_are_caught(tmp_path: Path) -> None:
    need_python("3.12")
    # No bytecode in the zip: Python would normally write __pycache__ for each module.
    z = _zip(tmp_path / "fn.zip", {"pkg/__init__.py": "from . import sub\n", "pkg/sub.py": "X = 1\n",
                                   "solo.py": "import json\n"})
    r = smoke(z, [], target("python3.12"))
    assert r.status == "passed" and not r.wrote_files, r

    writer = _zip(tmp_path / "writer.zip", {
        "writer.py": "import os\nopen(os.path.join(os.path.dirname(__file__), 'cache.txt'), 'w').close()\n",
        "tmpuser.py": "import tempfile\nwith tempfile.NamedTemporaryFile() as f:\n    f.write(b'x')\n",
    })
    r = smoke(writer, [], target("python3.12"))
    assert r.status == "failed"
    mods = by_module(r)
    assert mods["tmpuser"].ok  # /tmp is writable, as on Lambda
    w = mods["writer"]
    # As root the write succeeds and is caught by comparing the tree; otherwise 0o555 refuses it.
    if r.wrote_files:
        assert r.reason is not None and "/var/task/cache.txt" in r.reason
    else:
        assert not w.ok and "PermissionError" in (w.error or "")


def test_layers_merge_in_order_later_wins(tmp_path: Path) -> None:
    need_python("3.12")
    one = _zip(tmp_path / "one.zip", {"python/conf.py": "VALUE = 1\n", "python/only_one.py": ""})
    two = _zip(tmp_path / "two.zip", {"python/conf.py": "VALUE = 2\n",
                                       "python/lib/python3.12/site-packages/sp.py": "import conf\n"})
    fn = _zip(tmp_path / "fn.zip", {"app.py": "import conf, only_one, sp\nassert conf.VALUE == 2, conf.VALUE\n"
                                              "def handler(e, c):\n    return conf.VALUE\n"})
    assert smoke(fn, [one, two], target("python3.12"), handler="app.handler").status == "passed"
    r = smoke(fn, [two, one], target("python3.12"), handler="app.handler")
    assert r.status == "failed"
    assert (r.results[0].error or "").startswith("AssertionError: 1")


def test_a_crash_or_hang_in_one_import_keeps_the_others(tmp_path: Path) -> None:
    need_python("3.12")
    z = _zip(tmp_path / "fn.zip", {
        "crash.py": "import ctypes\nctypes.string_at(0)\n",
        "hang.py": "while True:\n    pass\n",
        "noisy.py": "import os, sys\nprint('{\"module\": \"noisy\"}')\nos.write(1, b'junk\\n')\nsys.exit(3)\n",
        "fine.py": "import json\n",
    })
    r = smoke(z, [], target("python3.12"), timeout=5)
    assert r.status == "failed"
    mods = by_module(r)
    assert mods["fine"].ok
    assert "SIGSEGV" in (mods["crash"].error or "")
    assert "did not finish within 5s" in (mods["hang"].error or "")
    assert (mods["noisy"].error or "").startswith("SystemExit: 3")


def test_unsupported_minor_version_is_skipped(tmp_path: Path) -> None:
    minor = next((v for v in ("3.14", "3.13", "3.10", "3.9") if not _interpreters(v)), None)
    if minor is None:
        pytest.skip("every Lambda Python version is installed here")
    z = _zip(tmp_path / "fn.zip", {"app.py": ""})
    r = smoke(z, [], target(f"python{minor}"))
    assert r.status == "skipped" and r.results == []
    assert r.reason is not None and f"no Python {minor} interpreter" in r.reason
