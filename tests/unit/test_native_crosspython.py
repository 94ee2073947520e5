"""The target's CPython configuration (native.crosspython), on this machine's real CPythons:
their real pyconfig.h and build_time_vars, and zig's preprocessor as the judge of what a
compile for the target sees."""

from __future__ import annotations

import collections
import importlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.host import processes
from lambdapack.host.interpreters import find_interpreter
from lambdapack.host.ziglang import Zig
from lambdapack.native.crosspython import (
    ARCH_DEFINES,
    Toolchain,
    host_platform,
    module_name,
    module_source,
    pyconfig_redirect,
    target_config,
    target_pyconfig,
)
from lambdapack.target.tags import Target

PY312_ARM = Target(get_runtime("python3.12"), get_arch("arm64"))
PY312_X86 = Target(get_runtime("python3.12"), get_arch("x86_64"))
PY311_X86 = Target(get_runtime("python3.11"), get_arch("x86_64"))
HOST = platform.machine()
# The four lines of an x86_64 pyconfig.h that differ on aarch64 (Debian 12's libpython3.11-dev,
# amd64 against arm64), and what they are there.
X86_LINES = {"#define HAVE_GCC_ASM_FOR_X64 1", "#define HAVE_GCC_ASM_FOR_X87 1",
             "/* #undef HAVE_USABLE_WCHAR_T */", "#define PY_SUPPORT_TIER 1"}
ARM_LINES = {"/* #undef HAVE_GCC_ASM_FOR_X64 */", "/* #undef HAVE_GCC_ASM_FOR_X87 */",
             "#define HAVE_USABLE_WCHAR_T 1", "#define PY_SUPPORT_TIER 2"}

# A literal excerpt of Debian 12's /usr/include/python3.11/pyconfig.h (libpython3.11-dev), for
# machines that do not have it installed: the per-machine redirect.
DEBIAN_REDIRECT_EXCERPT = """\
#if defined(__linux__)
# if defined(__x86_64__) && defined(__LP64__)
#  include <x86_64-linux-gnu/python3.11/pyconfig.h>
# elif defined(__x86_64__) && defined(__ILP32__)
#  include <x86_64-linux-gnux32/python3.11/pyconfig.h>
# elif defined(__i386__)
#  include <i386-linux-gnu/python3.11/pyconfig.h>
# elif defined(__aarch64__) && defined(__AARCH64EL__)
#  include <aarch64-linux-gnu/python3.11/pyconfig.h>
# elif defined(__ARM_EABI__) && defined(__ARM_PCS_VFP)
#  include <arm-linux-gnueabihf/python3.11/pyconfig.h>
# else
#   error unknown multiarch location for pyconfig.h
# endif
#else
# error unknown multiarch location for pyconfig.h
#endif
"""
DEBIAN_PYCONFIG = Path("/usr/include/python3.11/pyconfig.h")


def _include_of(python: str) -> Path:
    out = subprocess.run([python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                         capture_output=True, text=True, timeout=60, check=True)
    return Path(out.stdout.strip())


def _machine_header(include: Path) -> tuple[Path, str]:
    """(the include dir, the text of its pyconfig.h for this machine), a redirect followed."""
    text = (include / "pyconfig.h").read_text(encoding="utf-8")
    redirect = pyconfig_redirect(text, f"{HOST}-linux-gnu")
    if redirect is not None:
        text = (include.parent / redirect).read_text(encoding="utf-8")
    return include, text


@pytest.fixture(scope="module", params=["running", "3.12", "3.11"])
def header(request: pytest.FixtureRequest) -> tuple[Path, str]:
    """A real CPython's include directory and its (machine's) pyconfig.h text."""
    if request.param == "running":
        include = Path(sysconfig.get_paths()["include"])
    else:
        minor = tuple(int(p) for p in request.param.split("."))
        interp = find_interpreter((minor[0], minor[1]))
        if interp is None:
            pytest.skip(f"no CPython {request.param} on this machine")
        include = _include_of(interp.path)
    if not (include / "pyconfig.h").is_file():
        pytest.skip(f"{include} has no pyconfig.h (no development headers)")
    return _machine_header(include)


def _other(machine: str) -> str:
    return "aarch64" if machine == "x86_64" else "x86_64"


def _diff(before: str, after: str) -> tuple[collections.Counter[str], collections.Counter[str]]:
    a, b = collections.Counter(before.splitlines()), collections.Counter(after.splitlines())
    return a - b, b - a


# --- target_pyconfig on real headers ------------------------------------------------------


def test_for_aarch64_exactly_the_four_machine_lines_change(header: tuple[Path, str]) -> None:
    _include, text = header
    if HOST != "x86_64":
        pytest.skip("the header is of this machine; the expected lines are an x86_64 header's")
    assert set(text.splitlines()) >= X86_LINES, "the x86_64 header should have the four x86_64 lines"
    out = target_pyconfig(text, "aarch64")
    removed, added = _diff(text, out)
    assert set(removed) == X86_LINES and sum(removed.values()) == 4
    assert set(added) == ARM_LINES and sum(added.values()) == 4
    # In place: the same number of lines, the same order, only those four lines differ.
    before, after = text.splitlines(), out.splitlines()
    assert len(before) == len(after)
    changed = [(x, y) for x, y in zip(before, after, strict=True) if x != y]
    assert sorted(changed) == sorted([
        ("#define HAVE_GCC_ASM_FOR_X64 1", "/* #undef HAVE_GCC_ASM_FOR_X64 */"),
        ("#define HAVE_GCC_ASM_FOR_X87 1", "/* #undef HAVE_GCC_ASM_FOR_X87 */"),
        ("/* #undef HAVE_USABLE_WCHAR_T */", "#define HAVE_USABLE_WCHAR_T 1"),
        ("#define PY_SUPPORT_TIER 1", "#define PY_SUPPORT_TIER 2"),
    ])
    assert "HAVE_GCC_ASM_FOR_X64 1" not in out and "#define HAVE_GCC_ASM_FOR_X87" not in out


def test_for_its_own_machine_the_header_is_unchanged_and_the_round_trip_restores_it(
        header: tuple[Path, str]) -> None:
    _include, text = header
    if HOST not in ARCH_DEFINES:
        pytest.skip(f"no defines known for {HOST}")
    assert target_pyconfig(text, HOST) == text
    there = target_pyconfig(text, _other(HOST))
    assert there != text  # negative control: the other machine's header is not this one
    assert target_pyconfig(there, HOST) == text


def test_a_header_without_py_support_tier_gets_it_before_the_guard() -> None:
    # CPython 3.10's pyconfig.h has no PY_SUPPORT_TIER (PEP 11's tiers came in 3.12 and 3.11.x).
    text = ("#ifndef Py_PYCONFIG_H\n#define Py_PYCONFIG_H\n\n#define HAVE_GCC_ASM_FOR_X64 1\n"
            "#define HAVE_GCC_ASM_FOR_X87 1\n/* #undef HAVE_USABLE_WCHAR_T */\n\n#endif /*Py_PYCONFIG_H*/\n")
    out = target_pyconfig(text, "aarch64")
    assert out.endswith("#define PY_SUPPORT_TIER 2\n\n#endif /*Py_PYCONFIG_H*/\n"), out
    assert out.count("#endif /*Py_PYCONFIG_H*/") == 1
    assert "/* #undef HAVE_GCC_ASM_FOR_X64 */" in out and "#define HAVE_USABLE_WCHAR_T 1" in out
    assert out.count("HAVE_USABLE_WCHAR_T") == 1  # set in place, not added a second time
    assert target_pyconfig(text, "x86_64").endswith("#define PY_SUPPORT_TIER 1\n\n#endif /*Py_PYCONFIG_H*/\n")


def test_a_define_with_a_longer_name_is_not_taken_for_a_machine_define() -> None:
    text = "#define HAVE_GCC_ASM_FOR_X64_EXTRA 1\n#define PY_SUPPORT_TIER 1\n"
    out = target_pyconfig(text, "aarch64")
    assert "#define HAVE_GCC_ASM_FOR_X64_EXTRA 1" in out.splitlines()


# --- what the compiler sees ---------------------------------------------------------------

# Each probe holds a pyconfig.h define against the compiler's own predefined macros for the
# target: wchar_t is unsigned on aarch64 (__WCHAR_UNSIGNED__), x86 assembly only on x86.
PROBES = """\
#include <Python.h>
#if defined(HAVE_GCC_ASM_FOR_X64) != defined(__x86_64__)
#error "probe: HAVE_GCC_ASM_FOR_X64 does not match the target"
#endif
#if defined(HAVE_GCC_ASM_FOR_X87) != defined(__x86_64__)
#error "probe: HAVE_GCC_ASM_FOR_X87 does not match the target"
#endif
#if defined(HAVE_USABLE_WCHAR_T) != defined(__WCHAR_UNSIGNED__)
#error "probe: HAVE_USABLE_WCHAR_T does not match the target"
#endif
#if defined(PY_SUPPORT_TIER) && PY_SUPPORT_TIER != EXPECTED_TIER
#error "probe: PY_SUPPORT_TIER is not the target's"
#endif
"""


def _copy_headers(include: Path, text: str, dest: Path) -> Path:
    out = dest / include.name
    shutil.copytree(include, out)
    (out / "pyconfig.h").write_text(text, encoding="utf-8")
    return out


def _preprocess(zig: Zig, target: str, include: Path, tmp: Path, tier: int) -> subprocess.CompletedProcess[str]:
    src = tmp / "probe.c"
    src.write_text(PROBES, encoding="utf-8")
    argv = zig.cc(target, ["-E", f"-DEXPECTED_TIER={tier}", f"-I{include}", str(src), "-o", str(tmp / "probe.i")])
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp)


def test_the_compiler_for_aarch64_sees_the_patched_defines(zig: Zig, header: tuple[Path, str],
                                                           tmp_path: Path) -> None:
    include, text = header
    patched = _copy_headers(include, target_pyconfig(text, "aarch64"), tmp_path / "patched")
    res = _preprocess(zig, PY312_ARM.compiler_target, patched, tmp_path, 2)
    assert res.returncode == 0, res.stderr
    assert "probe:" not in res.stderr


def test_control_the_unpatched_header_for_aarch64_fails_the_probes(zig: Zig, header: tuple[Path, str],
                                                                 tmp_path: Path) -> None:
    include, text = header
    if HOST != "x86_64":
        pytest.skip("the control needs an x86_64 header")
    unpatched = _copy_headers(include, text, tmp_path / "unpatched")
    res = _preprocess(zig, PY312_ARM.compiler_target, unpatched, tmp_path, 2)
    assert res.returncode != 0
    assert "probe: HAVE_GCC_ASM_FOR_X64 does not match the target" in res.stderr
    assert "probe: HAVE_USABLE_WCHAR_T does not match the target" in res.stderr
    # ... and the same unpatched header is right for its own machine.
    own = _preprocess(zig, PY312_X86.compiler_target, unpatched, tmp_path, 1)
    assert own.returncode == 0, own.stderr


def test_the_compiler_for_x86_64_sees_the_x86_64_defines_after_an_aarch64_round_trip(
        zig: Zig, header: tuple[Path, str], tmp_path: Path) -> None:
    include, text = header
    there_and_back = target_pyconfig(target_pyconfig(text, "aarch64"), "x86_64")
    back = _copy_headers(include, there_and_back, tmp_path / "back")
    assert _preprocess(zig, PY312_X86.compiler_target, back, tmp_path, 1).returncode == 0
    # The aarch64 header compiled for x86_64 is wrong, and the probes say so.
    arm = _copy_headers(include, target_pyconfig(text, "aarch64"), tmp_path / "arm")
    res = _preprocess(zig, PY312_X86.compiler_target, arm, tmp_path, 1)
    assert res.returncode != 0 and "probe: PY_SUPPORT_TIER is not the target's" in res.stderr


# --- pyconfig_redirect ----------------------------------------------------------------------


def _debian_text() -> tuple[str, bool]:
    if DEBIAN_PYCONFIG.is_file() and "#  include <" in DEBIAN_PYCONFIG.read_text(encoding="utf-8"):
        return DEBIAN_PYCONFIG.read_text(encoding="utf-8"), True
    return DEBIAN_REDIRECT_EXCERPT, False


def test_debians_pyconfig_redirects_each_machine_to_its_own_file() -> None:
    text, live = _debian_text()
    assert pyconfig_redirect(text, "x86_64-linux-gnu") == "x86_64-linux-gnu/python3.11/pyconfig.h"
    assert pyconfig_redirect(text, "aarch64-linux-gnu") == "aarch64-linux-gnu/python3.11/pyconfig.h"
    # x86_64-linux-gnux32 starts with x86_64-linux-gnu: the x86_64 answer is not the x32 file.
    assert pyconfig_redirect(text, "x86_64-linux-gnux32") == "x86_64-linux-gnux32/python3.11/pyconfig.h"
    assert pyconfig_redirect(text, "riscv128-linux-gnu") is None
    if live and HOST == "x86_64":  # the file it names is the one installed beside it
        assert (DEBIAN_PYCONFIG.parent.parent / "x86_64-linux-gnu/python3.11/pyconfig.h").is_file()


def test_a_real_non_redirecting_pyconfig_gives_none() -> None:
    text = (Path(sysconfig.get_paths()["include"]) / "pyconfig.h").read_text(encoding="utf-8")
    if pyconfig_redirect(text, f"{HOST}-linux-gnu") is not None:
        pytest.skip("the running interpreter's own pyconfig.h is a distribution's redirect")
    assert "#define HAVE_GCC_ASM_FOR_X64" in text or HOST != "x86_64"
    assert pyconfig_redirect(text, "x86_64-linux-gnu") is None
    assert pyconfig_redirect(text, "aarch64-linux-gnu") is None


# --- target_config --------------------------------------------------------------------------


def _host_vars() -> dict[str, object]:
    module = importlib.import_module(sysconfig._get_sysconfigdata_name())  # type: ignore[attr-defined]
    return dict(module.build_time_vars)


TOOLS = Toolchain(sys.executable, processes.script("zigcc.py"), "/opt/zig dir/zig")
INCLUDE = "/work/cross/include/python3.12"
HOST_ONLY = ("-L", "-Wl,-rpath", "-g", "-march", "-mtune")
# A build machine's configuration with every flag that must not reach a target's build
# (a pyenv build with --enable-shared and -march, as `python3-config` shows on such machines).
SYNTHETIC_HOST = {
    "CC": "gcc -pthread", "CXX": "g++ -pthread",
    "LDSHARED": "gcc -pthread -shared -L/opt/py/lib -Wl,-rpath,/opt/py/lib",
    "CFLAGS": "-Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall -march=x86-64-v3",
    "LDFLAGS": "-L/opt/py/lib -Wl,-rpath,/opt/py/lib", "CPPFLAGS": "-I/opt/py/include",
    "EXT_SUFFIX": ".cpython-311-x86_64-linux-gnu.so", "SOABI": "cpython-311-x86_64-linux-gnu",
    "MULTIARCH": "x86_64-linux-gnu", "LIBPL": "/opt/py/lib/python3.11/config-3.11-x86_64-linux-gnu",
    "Py_ENABLE_SHARED": 1, "SIZEOF_LONG": 8, "WITH_DOC_STRINGS": 1,
}


def _tokens(value: object) -> list[str]:
    assert isinstance(value, str)
    return shlex.split(value)


def _host_flags(config: dict[str, object], keys: tuple[str, ...]) -> list[str]:
    return [f"{k}: {t}" for k in keys for t in _tokens(config[k]) if t.startswith(HOST_ONLY)]


@pytest.mark.parametrize("host", ["real", "synthetic"])
def test_target_config_for_python312_arm64(host: str) -> None:
    vars_ = _host_vars() if host == "real" else dict(SYNTHETIC_HOST)
    host_machine = HOST if host == "real" else "x86_64"
    if host_machine != "x86_64":
        pytest.skip("the expected strings are an x86_64 build machine's")
    out = target_config(vars_, host_machine, PY312_ARM, TOOLS, INCLUDE)
    assert out["EXT_SUFFIX"] == ".cpython-312-aarch64-linux-gnu.so"
    assert out["SOABI"] == "cpython-312-aarch64-linux-gnu"
    assert out["MULTIARCH"] == "aarch64-linux-gnu"
    assert out["HOST_GNU_TYPE"] == "aarch64-unknown-linux-gnu"
    cc = [sys.executable, TOOLS.wrapper, "/opt/zig dir/zig", "aarch64-linux-gnu.2.34", "cc"]
    assert _tokens(out["CC"]) == cc
    assert _tokens(out["CXX"]) == [*cc[:-1], "c++"]
    assert _tokens(out["LDSHARED"]) == [*cc, "-shared"]
    assert _tokens(out["BLDSHARED"]) == [*cc, "-shared"]
    assert _tokens(out["LDCXXSHARED"]) == [*cc[:-1], "c++", "-shared"]
    assert _tokens(out["AR"]) == ["/opt/zig dir/zig", "ar"]
    flag_keys = ("LDSHARED", "LDCXXSHARED", "BLDSHARED", "CFLAGS", "PY_CFLAGS", "LDFLAGS", "PY_LDFLAGS", "CPPFLAGS")
    assert _host_flags(out, flag_keys) == []
    assert out["Py_ENABLE_SHARED"] == 0
    assert out["INCLUDEPY"] == INCLUDE
    # Every other string has the target's triple for the host's; numbers are kept.
    strings = {k: v for k, v in out.items() if isinstance(v, str)}
    assert [k for k, v in strings.items() if "x86_64-linux-gnu" in v] == []
    assert set(vars_) <= set(out)
    assert {k: v for k, v in out.items() if not isinstance(v, str) and k != "Py_ENABLE_SHARED"} == \
        {k: v for k, v in vars_.items() if not isinstance(v, str) and k != "Py_ENABLE_SHARED"}
    if "LIBPL" in vars_:
        assert str(out["LIBPL"]).endswith("-aarch64-linux-gnu")


def test_control_the_synthetic_host_has_the_flags_the_check_looks_for() -> None:
    # The check above would see a flag the target config kept: the host's own config has them.
    host = dict(SYNTHETIC_HOST)
    assert len(_host_flags({"LDSHARED": host["LDSHARED"], "CFLAGS": host["CFLAGS"]}, ("LDSHARED", "CFLAGS"))) == 4


@pytest.mark.parametrize(("target", "triple"), [(PY312_X86, "x86_64-linux-gnu.2.34"),
                                                (PY311_X86, "x86_64-linux-gnu.2.26")])
def test_target_config_for_x86_64_uses_the_runtimes_glibc(target: Target, triple: str) -> None:
    out = target_config(dict(SYNTHETIC_HOST), "x86_64", target, TOOLS, INCLUDE)
    py = f"{target.runtime.python[0]}{target.runtime.python[1]}"
    assert out["EXT_SUFFIX"] == f".cpython-{py}-x86_64-linux-gnu.so"
    assert _tokens(out["CC"])[3:] == [triple, "cc"]
    assert out["MULTIARCH"] == "x86_64-linux-gnu"


def test_module_source_execs_to_the_config() -> None:
    config = target_config(_host_vars(), HOST, PY312_ARM, TOOLS, INCLUDE)
    namespace: dict[str, object] = {}
    exec(compile(module_source(config), "sysconfigdata", "exec"), namespace)
    assert namespace["build_time_vars"] == config
    assert module_source(config) == module_source(dict(reversed(list(config.items()))))  # sorted: stable


def test_sysconfig_of_the_running_interpreter_reads_the_written_module(tmp_path: Path) -> None:
    config = target_config(_host_vars(), HOST, PY312_ARM, TOOLS, INCLUDE)
    (tmp_path / f"{module_name(PY312_ARM)}.py").write_text(module_source(config), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "_PYTHON_SYSCONFIGDATA_NAME": module_name(PY312_ARM),
           "_PYTHON_HOST_PLATFORM": host_platform(PY312_ARM)}
    code = ("import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX')); print(sysconfig.get_platform()); "
            "print(sysconfig.get_config_var('CC'))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [".cpython-312-aarch64-linux-gnu.so", "linux-aarch64", config["CC"]]
    assert module_name(PY312_ARM) == "_sysconfigdata__linux_aarch64-linux-gnu"
