"""The compiler wrapper of native builds (scripts/zigcc.py), run for real as the build backend
runs it: `python zigcc.py ZIG TARGET cc|c++ ARGS...`, with zig from the ziglang package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambdapack.host import processes
from lambdapack.host.ziglang import Zig
from lambdapack.inspect.elf.reader import read_elf_file
from lambdapack.native.buildfailure import REFUSED, build_failure

SCRIPT = processes.script("zigcc.py")
ARM = "aarch64-linux-gnu.2.34"
X86 = "x86_64-linux-gnu.2.26"
SOURCE = "int demo_add(int a, int b) { return a + b; }\n"


def wrapper(zig: Zig, target: str, *args: str, cwd: Path, allow: str | None = None,
            mode: str = "cc") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LAMBDAPACK_ZIGCC_ALLOW"}
    if allow is not None:
        env["LAMBDAPACK_ZIGCC_ALLOW"] = allow
    return subprocess.run([sys.executable, SCRIPT, str(zig.path), target, mode, *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def _source(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "x.c").write_text(SOURCE, encoding="utf-8")
    return d / "x.c"


# --- refused: the build machine's include and library directories ----------------------------


@pytest.mark.parametrize(("args", "shown"), [
    (["-I/usr/include/postgresql"], "-I/usr/include/postgresql"),
    (["-I", "/usr/include/postgresql"], "-I /usr/include/postgresql"),
    (["-isystem", "/usr/local/include"], "-isystem /usr/local/include"),
    (["-idirafter", "/usr/include"], "-idirafter /usr/include"),
    (["-L/usr/lib/x86_64-linux-gnu"], "-L/usr/lib/x86_64-linux-gnu"),
    (["-L/lib64"], "-L/lib64"),
    (["-Wl,-rpath,/usr/local/lib"], "-Wl,-rpath,/usr/local/lib"),
    (["-I/opt/homebrew/include"], "-I/opt/homebrew/include"),
    (["-Iinclude", "-L", "build/lib"], None),  # relative: directories of the sdist
])
def test_host_directories_are_refused_before_anything_is_compiled(zig: Zig, tmp_path: Path, args: list[str],
                                                                  shown: str | None) -> None:
    _source(tmp_path)
    res = wrapper(zig, X86, "-c", "x.c", *args, "-o", "x.o", cwd=tmp_path)
    if shown is None:  # control: the same compile without a host directory goes through
        assert res.returncode == 0, res.stderr
        assert (tmp_path / "x.o").is_file()
        return
    assert res.returncode == 3
    assert res.stderr == f"{REFUSED}{shown}\n"
    assert not (tmp_path / "x.o").exists()


def test_a_path_is_normalised_before_it_is_judged(zig: Zig, tmp_path: Path) -> None:
    _source(tmp_path)
    res = wrapper(zig, X86, "-c", "x.c", "-I/usr/include/python3.11/../postgresql", "-o", "x.o", cwd=tmp_path,
                  allow="/usr/include/python3.11")
    assert res.returncode == 3 and res.stderr == f"{REFUSED}-I/usr/include/python3.11/../postgresql\n"


def test_a_directory_that_only_starts_like_a_host_one_is_not_refused(zig: Zig, tmp_path: Path) -> None:
    _source(tmp_path)
    for path in ("/usr/includes-of-the-sdist", "/library/x", "/usr/local-build"):
        res = wrapper(zig, X86, "-c", "x.c", f"-I{path}", "-o", "x.o", cwd=tmp_path)
        assert res.returncode == 0, (path, res.stderr)


def test_the_allowed_directory_is_allowed_and_nothing_else_under_usr_include(zig: Zig, tmp_path: Path) -> None:
    _source(tmp_path)
    allow = "/usr/include/python3.11"
    ok = wrapper(zig, X86, "-c", "x.c", f"-I{allow}", "-o", "x.o", cwd=tmp_path, allow=allow)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "x.o").is_file()
    # Control: without the variable the same directory is refused ...
    no_env = wrapper(zig, X86, "-c", "x.c", f"-I{allow}", "-o", "y.o", cwd=tmp_path)
    assert no_env.returncode == 3 and not (tmp_path / "y.o").exists()
    # ... and with it, a sibling, a longer name and the parent still are.
    for other in ("/usr/include/postgresql", "/usr/include/python3.11-extra", "/usr/include"):
        res = wrapper(zig, X86, "-c", "x.c", f"-I{other}", "-o", "z.o", cwd=tmp_path, allow=allow)
        assert res.returncode == 3 and res.stderr == f"{REFUSED}-I{other}\n", other


def test_the_refusal_is_read_back_as_the_library_it_belongs_to(zig: Zig, tmp_path: Path) -> None:
    _source(tmp_path)
    res = wrapper(zig, X86, "-c", "x.c", "-I/usr/include/postgresql", "-o", "x.o", cwd=tmp_path)
    e = build_failure(res.stdout + res.stderr, "building psycopg2 2.9.10 for python3.11 x86_64")
    assert "it needs libpq" in e.message and "-I/usr/include/postgresql" in e.message


# --- what it builds ---------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "machine"), [(ARM, "aarch64"), (X86, "x86_64")])
def test_a_compile_makes_an_object_for_the_target(zig: Zig, tmp_path: Path, target: str, machine: str) -> None:
    _source(tmp_path)
    res = wrapper(zig, target, "-c", "-O2", "-fPIC", "x.c", "-o", "x.o", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    info = read_elf_file(tmp_path / "x.o")
    assert info.machine_name == machine
    assert info.elf_type == 1  # ET_REL: an object file


def test_cxx_mode_compiles_cxx(zig: Zig, tmp_path: Path) -> None:
    (tmp_path / "x.cpp").write_text("template <class T> T twice(T v) { return v + v; }\n"
                                    "extern \"C\" int demo(int v) { return twice(v); }\n")
    res = wrapper(zig, ARM, "-c", "-O2", "-fPIC", "x.cpp", "-o", "x.o", cwd=tmp_path, mode="c++")
    assert res.returncode == 0, res.stderr
    assert read_elf_file(tmp_path / "x.o").machine_name == "aarch64"


GNU_LD_FLAGS = ("-Wl,--exclude-libs,ALL", "-Wl,-Bsymbolic-functions", "-Wl,-w")


def test_gnu_ld_flags_zig_rejects_are_dropped_and_the_link_succeeds(zig: Zig, tmp_path: Path) -> None:
    _source(tmp_path)
    res = wrapper(zig, ARM, "-shared", "-fPIC", "-O2", "x.c", *GNU_LD_FLAGS, "-o", "x.so", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    info = read_elf_file(tmp_path / "x.so")
    assert info.machine_name == "aarch64" and info.elf_type == 3  # ET_DYN
    assert "demo_add" in info.exported_symbols


def test_control_zig_itself_rejects_those_flags(zig: Zig, tmp_path: Path) -> None:
    _source(tmp_path)
    res = subprocess.run(zig.cc(ARM, ["-shared", "-fPIC", "-O2", "x.c", "-Wl,--exclude-libs,ALL", "-o", "x.so"]),
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode != 0 and "exclude-libs" in res.stderr


def _object_in(zig: Zig, d: Path, *, raw: bool) -> bytes:
    src = _source(d)
    args = ["-c", "-g", "-O2", "-fPIC", str(src), "-o", "x.o"]  # -g and an absolute path: the worst case
    if raw:
        res = subprocess.run(zig.cc(ARM, args), capture_output=True, text=True, cwd=d, timeout=300)
    else:
        res = wrapper(zig, ARM, *args, cwd=d)
    assert res.returncode == 0, res.stderr
    return (d / "x.o").read_bytes()


def test_the_same_source_in_two_folders_builds_to_the_same_bytes(zig: Zig, tmp_path: Path) -> None:
    a = _object_in(zig, tmp_path / "first", raw=False)
    b = _object_in(zig, tmp_path / "second-folder", raw=False)
    assert a == b
    assert str(tmp_path).encode() not in a


def test_control_without_the_wrapper_the_folder_is_in_the_object(zig: Zig, tmp_path: Path) -> None:
    a = _object_in(zig, tmp_path / "first", raw=True)
    b = _object_in(zig, tmp_path / "second-folder", raw=True)
    assert a != b
    assert str(tmp_path).encode() in a


def _header_build(zig: Zig, tmp: Path, *, raw: bool) -> bytes:
    headers = tmp / "cross" / "include" / "python3.12"
    headers.mkdir(parents=True)
    (headers / "demo.h").write_text("static const char *demo_file(void) { return __FILE__; }\n"
                                    "static inline int demo_twice(int v) { return v * 2; }\n")
    work = tmp / "work"
    work.mkdir()
    (work / "x.c").write_text('#include "demo.h"\nconst char *demo(int v) { return demo_twice(v) ? demo_file() : 0; }\n')
    args = ["-c", "-g", "-O2", f"-I{headers}", "x.c", "-o", "x.o"]  # -O2: what the target's CFLAGS say
    if raw:
        res = subprocess.run(zig.cc(ARM, args), capture_output=True, text=True, cwd=work, timeout=300)
    else:
        res = wrapper(zig, ARM, *args, cwd=work, allow=str(headers))
    assert res.returncode == 0, res.stderr
    return (work / "x.o").read_bytes()


def test_the_allowed_header_directory_is_mapped_out_of_the_object(zig: Zig, tmp_path: Path) -> None:
    data = _header_build(zig, tmp_path, raw=False)
    assert str(tmp_path).encode() not in data
    assert b"/python-include/demo.h" in data  # __FILE__ in the header


def test_control_without_the_wrapper_the_header_directory_is_in_the_object(zig: Zig, tmp_path: Path) -> None:
    data = _header_build(zig, tmp_path, raw=True)
    assert f"{tmp_path}/cross/include/python3.12/demo.h".encode() in data
