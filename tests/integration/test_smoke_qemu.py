"""arm64 smoke tests on an x86_64 machine, under qemu-aarch64 user-mode emulation.

Real zips (built by the CLI from PyPI, with native extensions), really imported by an aarch64
CPython that qemu runs. The tests find qemu and the interpreters through the variables the
product reads (LAMBDAPACK_QEMU_AARCH64, else qemu-aarch64 on PATH; LAMBDAPACK_SMOKE_PYTHON_AARCH64,
one or more paths) and skip, saying what is missing, without them: .ci/run installs qemu-user and
extracts Debian's aarch64 CPython 3.11 and 3.13. Tests never install software.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from lp_helpers import clean_env, lp_build_json, run_lp
from test_smoke import private_tempdir  # noqa: F401 (autouse here too: each test proves the smoke root is gone)

from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.inspect.smoke import ModuleResult, SmokeResult, smoke
from lambdapack.target.tags import Target

PYTHONS = "LAMBDAPACK_SMOKE_PYTHON_AARCH64"
QEMU = "LAMBDAPACK_QEMU_AARCH64"
VERSIONS = ("3.11", "3.13")  # the aarch64 CPythons Debian has (12: 3.11, 13: 3.13)

# Runs at import, so the smoke test runs the zip's aarch64 code, not only loads it: markupsafe
# and PyYAML fall back to pure Python when their extension does not load, the handler does not.
HANDLER_BODY = """\
import platform
import markupsafe._speedups as speedups
import yaml
import yaml._yaml
assert platform.machine() == "aarch64", platform.machine()
assert speedups._escape_inner("<&>") == "&lt;&amp;&gt;"
assert yaml.__with_libyaml__ and yaml.load("a: [1, 2]", Loader=yaml.CSafeLoader) == {"a": [1, 2]}
"""


def _qemu() -> str | None:
    named = os.environ.get(QEMU)
    if named:
        return shutil.which(named)
    return shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static")


def _named_pythons() -> dict[str, str]:
    """X.Y -> the first interpreter LAMBDAPACK_SMOKE_PYTHON_AARCH64 names as python X.Y."""
    out: dict[str, str] = {}
    for p in os.environ.get(PYTHONS, "").split(os.pathsep):
        m = re.search(r"python(3\.\d+)$", p)
        if m and os.access(p, os.X_OK):
            out.setdefault(m.group(1), p)
    return out


def need_emulation(version: str) -> str:
    """The aarch64 CPython `version` to run under qemu here, or skip saying what is missing."""
    if platform.machine() != "x86_64" or sys.platform != "linux":
        pytest.skip("written for a Linux x86_64 machine (on arm64 the smoke test runs natively)")
    if _qemu() is None:
        pytest.skip(f"no qemu-aarch64 on PATH nor ${QEMU} (Debian/Ubuntu: apt-get install qemu-user)")
    python = _named_pythons().get(version)
    if python is None:
        pytest.skip(f"no aarch64 CPython {version} named by ${PYTHONS} (.ci/run extracts Debian's)")
    return python


def emulation_env(python: str) -> dict[str, str]:
    """A clean environment for the CLI, with the product's emulation variables."""
    extra = {PYTHONS: python}
    extra.update({k: os.environ[k] for k in (QEMU, "QEMU_LD_PREFIX") if os.environ.get(k)})
    return clean_env(extra)


def arm64(version: str) -> Target:
    return Target(get_runtime(f"python{version}"), get_arch("arm64"))


def by_module(r: SmokeResult) -> dict[str, ModuleResult]:
    return {m.module: m for m in r.results}


def assert_emulated(interp: dict[str, object] | None, version: str) -> None:
    """The JSON interpreter says it was an aarch64 CPython under qemu-aarch64."""
    assert interp is not None
    assert interp["machine"] == "aarch64" and str(interp["version"]).startswith(f"{version}.")
    emulation = interp["emulation"]
    assert isinstance(emulation, dict) and emulation["name"] in ("qemu-aarch64", "qemu-aarch64-static"), interp
    assert Path(str(emulation["path"])).is_file()


def _zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return path


# -- no network: pure Python under emulation ------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_imports_run_on_aarch64_and_a_raising_module_fails(version: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    python = need_emulation(version)
    monkeypatch.setenv(PYTHONS, python)
    z = _zip(tmp_path / "fn.zip", {
        # Lambda's loader path reaches the emulated process (qemu -E), as LD_LIBRARY_PATH does on Lambda.
        "machine_check.py": "import os, platform\n"
                            "assert platform.machine() == 'aarch64', platform.machine()\n"
                            "assert os.environ['LD_LIBRARY_PATH'].split(':')[0] == os.environ['LAMBDA_TASK_ROOT']\n",
        "boom.py": "raise RuntimeError('boom on arm64')\n",
    })
    r = smoke(z, [], arm64(version))
    assert r.status == "failed", r
    assert r.interpreter is not None and r.interpreter.launcher, r.interpreter
    assert_emulated(r.as_dict()["interpreter"], version)  # type: ignore[arg-type]
    mods = by_module(r)
    assert mods["machine_check"].ok, mods["machine_check"]
    assert not mods["boom"].ok and (mods["boom"].error or "").startswith("RuntimeError: boom on arm64")
    assert r.reason is not None and "boom" in r.reason


def test_skipped_without_qemu_says_what_is_missing(tmp_path: Path) -> None:
    if platform.machine() != "x86_64":
        pytest.skip("written for an x86_64 machine")
    z = _zip(tmp_path / "fn.zip", {"app.py": ""})
    env = clean_env({QEMU: str(tmp_path / "no-such-qemu"), PYTHONS: str(tmp_path / "python3.11")})
    r = run_lp(["smoke", str(z), "--runtime", "python3.11", "--arch", "arm64", "--format", "json"], env=env)
    assert r.returncode == 3, r.explain()
    reason = r.json["reason"]
    assert r.json["status"] == "skipped" and r.json["interpreter"] is None
    assert "no qemu-aarch64" in reason and "apt-get install qemu-user" in reason and QEMU in reason, reason
    assert str(tmp_path / "python3.11") in reason, reason


def test_skipped_without_an_aarch64_python_of_the_version_says_how_to_get_one(tmp_path: Path) -> None:
    have = {v for v in VERSIONS if v in _named_pythons()}
    python = need_emulation(min(have) if have else "3.11")
    z = _zip(tmp_path / "fn.zip", {"app.py": ""})
    # 3.12: no Debian release has an aarch64 CPython 3.12; the variable names another version.
    r = run_lp(["smoke", str(z), "--runtime", "python3.12", "--arch", "arm64", "--format", "json"],
               env=emulation_env(python))
    if r.returncode == 0:
        pytest.skip("this machine has an aarch64 CPython 3.12 (uv-managed?): nothing to skip")
    assert r.returncode == 3, r.explain()
    reason = r.json["reason"]
    assert "CPython 3.12 for aarch64" in reason and "uv python install cpython-3.12-linux-aarch64-gnu" in reason
    assert f"{python} is Python 3.1" in reason and PYTHONS in reason, reason


# -- network: a real arm64 zip with native dependencies from PyPI ------------------------------


@pytest.fixture(scope="module")
def arm_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, object], float]]:
    """version -> (the zip, its `build --smoke` JSON, the build's seconds), for each version here."""
    tmp = tmp_path_factory.mktemp("qemu-builds")
    out: dict[str, tuple[Path, dict[str, object], float]] = {}
    for version, python in _named_pythons().items():
        if version not in VERSIONS or _qemu() is None:
            continue
        src = tmp / f"src{version}"
        src.mkdir()
        (src / "lambda_function.py").write_text(
            HANDLER_BODY + "\n\ndef lambda_handler(event, context):\n    return {'ok': True}\n", encoding="utf-8")
        (tmp / "requirements.txt").write_text("markupsafe\npyyaml\n", encoding="utf-8")
        fn = tmp / f"fn{version}.zip"
        t0 = time.perf_counter()
        _run, data = lp_build_json(["build", str(src), "-r", str(tmp / "requirements.txt"), "--runtime",
                                    f"python{version}", "--arch", "arm64", "-o", str(fn), "--no-compile", "--smoke"],
                                   env=emulation_env(python), cwd=tmp)
        out[version] = (fn, data, time.perf_counter() - t0)
    return out


def _built(arm_builds: dict[str, tuple[Path, dict[str, object], float]], version: str) -> tuple[Path, dict[str, object]]:
    need_emulation(version)
    if version not in arm_builds:
        pytest.skip(f"no arm64 build for python{version}")
    fn, data, _seconds = arm_builds[version]
    return fn, data


@pytest.mark.network
@pytest.mark.parametrize("version", VERSIONS)
def test_an_arm64_zip_with_native_code_passes_under_qemu(
    version: str, arm_builds: dict[str, tuple[Path, dict[str, object], float]]
) -> None:
    fn, data = _built(arm_builds, version)
    with zipfile.ZipFile(fn) as zf:
        sos = [n for n in zf.namelist() if n.endswith(".so")]
    assert any("aarch64-linux-gnu" in n for n in sos) and not any("x86_64" in n for n in sos), sos
    built = data["smoke"]
    assert isinstance(built, dict) and built["status"] == "passed", built
    assert_emulated(built["interpreter"], version)

    # `lambdapack smoke` on the written zip: every top-level module, the JSON valid against its schema.
    pytest.importorskip("jsonschema")
    from test_check_output import assert_valid, validator

    t0 = time.perf_counter()
    r = run_lp(["smoke", str(fn), "--format", "json"], env=emulation_env(need_emulation(version)))
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.explain()
    assert_valid(validator("smoke.schema.json"), r.json)
    assert_emulated(r.json["interpreter"], version)
    mods = {m["module"]: m for m in r.json["results"]}
    assert {"lambda_function", "markupsafe", "yaml", "_yaml"} <= set(mods), sorted(mods)
    assert all(m["ok"] for m in mods.values()), mods
    text = run_lp(["smoke", str(fn), "--handler", "lambda_function.lambda_handler"],
                  env=emulation_env(need_emulation(version)))
    assert text.returncode == 0 and "under qemu-aarch64" in text.stdout and "emulation" in text.stdout, text.explain()
    print(f"python{version} arm64: `lambdapack smoke` under qemu took {seconds:.1f} s for {len(mods)} modules")


@pytest.mark.network
def test_an_x86_64_extension_in_an_arm64_zip_fails_under_qemu(
    arm_builds: dict[str, tuple[Path, dict[str, object], float]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The negative control: the same zip with PyYAML's extension swapped for an x86_64 one."""
    version = "3.11"
    fn, _data = _built(arm_builds, version)
    host_so = Path(yaml._yaml.__file__)  # type: ignore[attr-defined]  # this machine's (x86_64) build
    assert host_so.read_bytes()[18:20] == (62).to_bytes(2, "little"), host_so
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(fn) as src, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            is_so = info.filename.startswith("yaml/_yaml.") and info.filename.endswith(".so")
            dst.writestr(info, host_so.read_bytes() if is_so else src.read(info))
    monkeypatch.setenv(PYTHONS, need_emulation(version))
    r = smoke(broken, [], arm64(version))
    assert r.status == "failed", r
    assert r.interpreter is not None and r.interpreter.launcher and r.interpreter.machine == "aarch64"
    mods = by_module(r)
    assert mods["markupsafe"].ok, mods["markupsafe"]
    for name in ("_yaml", "lambda_function"):
        m = mods[name]
        assert not m.ok and re.match(r"(ImportError|ModuleNotFoundError): ", m.error or ""), m
        print(f"{name}: {m.error}")
        assert any(f.code == "LP002" and f.path.startswith("yaml/_yaml.") for f in m.findings), m.findings
