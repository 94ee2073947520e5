"""The native-build toolchain (issue 15, host/ziglang.py): zig from the `ziglang` wheel compiles
real C for each Lambda machine and glibc, and cannot produce a binary that needs a newer glibc.

Checked by the independent oracle (binutils' `readelf`): the machine and the highest GLIBC_
version each result needs. The x86_64 extension is also imported by a real CPython 3.11 of
this machine and called into. A C file that calls a function newer than the target's glibc
must fail to link: zig links against stubs of exactly that glibc, not the host's.
"""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import pytest
from host_pythons import python_exe
from lp_helpers import clean_env, glibc_needs, readelf_path

from lambdapack.facts.runtimes import get_arch, get_runtime
from lambdapack.host.ziglang import Zig
from lambdapack.target.tags import Target

EXTENSION = r"""
#include <Python.h>
#include <string.h>
/* memcpy and strlen from glibc, so the result has version needs to check. */
static PyObject* twice(PyObject* self, PyObject* arg) {
    const char* s = PyUnicode_AsUTF8(arg);
    if (s == NULL) return NULL;
    size_t n = strlen(s);
    char* buf = PyMem_Malloc(2 * n + 1);
    memcpy(buf, s, n); memcpy(buf + n, s, n); buf[2 * n] = 0;
    PyObject* out = PyUnicode_FromString(buf);
    PyMem_Free(buf);
    return out;
}
static PyMethodDef methods[] = {{"twice", twice, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "twice", NULL, -1, methods};
PyMODINIT_FUNC PyInit_twice(void) { return PyModule_Create(&mod); }
"""
# (target, the prototype and a call of a glibc function newer than its glibc: the link must
# fail). Declared here, not from a header: only the link decides, not what a header shows.
CASES = [
    (("python3.11", "x86_64"), "int pidfd_open(int, unsigned int);", "pidfd_open(0, 0)"),  # GLIBC_2.32 > 2.26
    (("python3.12", "arm64"), "unsigned int arc4random(void);", "(int)arc4random()"),  # GLIBC_2.36 > 2.34
]
OLD = ("int getpid(void);", "getpid()")  # in every glibc: the control, it must link
MACHINES = {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64"}  # as readelf -h names them


def _target(runtime: str, arch: str) -> Target:
    return Target(get_runtime(runtime), get_arch(arch))


def _include(minor: int) -> Path:
    exe = python_exe(minor)
    if exe is None:
        pytest.skip(f"no CPython 3.{minor} for its headers")
    out = subprocess.run([exe, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                         capture_output=True, text=True, check=True, env=clean_env())
    return Path(out.stdout.strip())


def _machine(path: Path, readelf: str) -> str:
    out = subprocess.run([readelf, "-h", "-W", str(path)], capture_output=True, text=True, check=True,
                         env=clean_env({"LC_ALL": "C"})).stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("Machine:"))


@pytest.mark.parametrize(("names", "prototype", "call"), CASES, ids=["python3.11-x86_64", "python3.12-arm64"])
def test_an_extension_compiles_for_the_target_and_needs_no_newer_glibc(
    zig: Zig, tmp_path: Path, names: tuple[str, str], prototype: str, call: str
) -> None:
    readelf = readelf_path()
    if readelf is None:
        pytest.skip("binutils' readelf (the oracle) is not installed")
    target = _target(*names)
    minor = int(target.runtime.version.split(".")[1])
    src = tmp_path / "twice.c"
    src.write_text(EXTENSION, encoding="utf-8")
    so = tmp_path / f"twice.cpython-3{minor}-{target.arch.machine}-linux-gnu.so"
    r = subprocess.run(zig.cc(target.compiler_target, ["-shared", "-fPIC", "-O2", f"-I{_include(minor)}",
                                                       str(src), "-o", str(so)]),
                       capture_output=True, text=True, env=clean_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    assert _machine(so, readelf) == MACHINES[target.arch.machine]
    needs = glibc_needs(so, readelf)
    assert needs, "memcpy and strlen come from glibc: the oracle must see version needs"
    assert max(needs) <= target.runtime.glibc, (sorted(needs), target.runtime.glibc)

    # A function newer than the target's glibc is not in its stubs: the link fails; an old one links.
    for (proto, body), links in ((OLD, True), ((prototype, call), False)):
        prog = tmp_path / "prog.c"
        prog.write_text(f"{proto}\nint main(void) {{ return {body}; }}\n", encoding="utf-8")
        got = subprocess.run(zig.cc(target.compiler_target, [str(prog), "-o", str(tmp_path / "prog")]),
                             capture_output=True, text=True, env=clean_env(), timeout=600)
        assert (got.returncode == 0) == links, (body, target.runtime.glibc, got.stderr[-2000:])

    if target.arch.machine == platform.machine():
        # Loads and runs on this machine's CPython of the runtime's version (glibc 2.36 >= the target's).
        exe = python_exe(minor)
        assert exe is not None
        run = subprocess.run([exe, "-c", "import twice; print(twice.twice('ab'))"], cwd=tmp_path,
                             capture_output=True, text=True, env=clean_env())
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "abab"


def test_the_compiler_target_names_each_runtimes_machine_and_glibc() -> None:
    assert _target("python3.11", "x86_64").compiler_target == "x86_64-linux-gnu.2.26"
    assert _target("python3.12", "arm64").compiler_target == "aarch64-linux-gnu.2.34"
    assert _target("python3.9", "arm64").compiler_target == "aarch64-linux-gnu.2.26"
