"""host/emulation.py and the smoke test's reasons around it: the pure parts, on real ELF files
(tests/fixtures/elf) and real directories; the runs under qemu are in
tests/integration/test_smoke_qemu.py."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.host.emulation import (
    Emulated,
    elf_interpreter,
    elf_machine,
    find_qemu,
    guest_command,
    own_root,
    python_variable,
    qemu_variable,
)
from lambdapack.host.interpreters import Interpreter
from lambdapack.inspect.smokeinterp import describe_interpreter, emulated_reason, emulator_json
from lambdapack.target.tags import Target

ELF = Path(__file__).resolve().parents[1] / "fixtures" / "elf"
ARM312 = Target(get_runtime("python3.12"), Arch.ARM64)


def head(name: str, size: int = 4096) -> bytes:
    return (ELF / name).read_bytes()[:size]


def test_the_machine_is_read_from_the_elf_header() -> None:
    assert elf_machine(head("markupsafe_speedups_aarch64.so", 20)) == "aarch64"
    assert elf_machine(head("hello", 20)) == "x86_64"
    # Not a 64-bit little-endian ELF of Lambda's machines: no candidate.
    for other in ("markupsafe_speedups_i686.so", "charset_normalizer_md_s390x.so",
                  "markupsafe_speedups_macos_arm64.so", "markupsafe_speedups_win_amd64.pyd", "bad_magic.bin"):
        assert elf_machine(head(other, 20)) is None, other
    assert elf_machine(b"\x7fELF") is None


def test_the_program_interpreter_is_read_from_pt_interp() -> None:
    assert elf_interpreter(head("hello")) == "/lib64/ld-linux-x86-64.so.2"
    assert elf_interpreter(head("libplain.so")) is None  # a library has no loader of its own
    assert elf_interpreter(head("short40.bin")) is None
    assert elf_interpreter(head("hello")[:200]) is None  # its string lies past the bytes given


def _executable(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize("layout", ["usr/bin", "bin"])
def test_an_interpreter_extracted_into_a_root_with_its_loader_runs_with_that_root(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "root"
    exe = _executable(root / layout / "python3.11", (ELF / "hello").read_bytes())
    assert own_root(str(exe)) is None  # no loader there: this machine's paths
    (root / "lib64").mkdir()
    (root / "lib64" / "ld-linux-x86-64.so.2").write_bytes(b"")
    assert own_root(str(exe)) == str(root)
    link = tmp_path / "elsewhere" / "python"
    link.parent.mkdir()
    link.symlink_to(exe)
    assert own_root(str(link)) == str(root)  # found from where the file really is
    assert own_root(str(_executable(root / "opt" / "python3.11", (ELF / "hello").read_bytes()))) is None


def test_the_loader_variables_go_to_the_guest_only() -> None:
    env = {"LD_LIBRARY_PATH": "/t/var/task:/t/var/task/lib", "LD_PRELOAD": "/a.so,/b.so", "TZ": ":UTC"}
    argv, rest = guest_command(("/usr/bin/qemu-aarch64", "-L", "/r"), env)
    assert argv == ["/usr/bin/qemu-aarch64", "-L", "/r", "-E", "LD_LIBRARY_PATH=/t/var/task:/t/var/task/lib"]
    # -E splits on commas: such a value stays in the environment, which qemu passes on.
    assert rest == {"LD_PRELOAD": "/a.so,/b.so", "TZ": ":UTC"}
    assert guest_command((), env) == ([], env)


def test_qemu_is_found_by_its_variable_or_on_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    static = _executable(bin_dir / "qemu-aarch64-static", b"#!/bin/sh\n")
    env = {"PATH": str(bin_dir)}
    assert find_qemu("aarch64", env) == str(static)
    plain = _executable(bin_dir / "qemu-aarch64", b"#!/bin/sh\n")
    assert find_qemu("arm64", env) == str(plain)
    assert find_qemu("aarch64", {**env, qemu_variable("aarch64"): str(static)}) == str(static)
    assert find_qemu("aarch64", {**env, "LAMBDAPACK_QEMU_AARCH64": str(tmp_path / "missing")}) is None
    assert qemu_variable("arm64") == "LAMBDAPACK_QEMU_AARCH64"
    assert python_variable("aarch64") == "LAMBDAPACK_SMOKE_PYTHON_AARCH64"


def test_without_qemu_or_python_the_reason_says_how_to_get_both() -> None:
    reason = emulated_reason(ARM312, None, Emulated(None, None, None, ()))
    assert "no qemu-aarch64" in reason and "apt-get install qemu-user" in reason
    assert "LAMBDAPACK_QEMU_AARCH64" in reason and "LAMBDAPACK_SMOKE_PYTHON_AARCH64=PATH" in reason
    assert "uv python install cpython-3.12-linux-aarch64-gnu" in reason and "python3.12-minimal:arm64" in reason
    assert reason.endswith("so nothing was tested")


def test_with_an_aarch64_python_but_no_qemu_the_reason_names_both() -> None:
    found = Emulated(None, None, "LAMBDAPACK_SMOKE_PYTHON_AARCH64", (("/x/python3.12", "not run: no qemu-aarch64"),))
    reason = emulated_reason(ARM312, None, found)
    assert "found /x/python3.12 named by LAMBDAPACK_SMOKE_PYTHON_AARCH64" in reason
    assert "no qemu-aarch64 to run it" in reason and "uv python install" not in reason


def test_with_qemu_the_reason_says_which_python_is_missing_or_why_it_did_not_run() -> None:
    x86 = Interpreter("/usr/bin/python3.12", (3, 12, 3), "x86_64", "linux")
    none = emulated_reason(ARM312, x86, Emulated(None, "/usr/bin/qemu-aarch64", None, ()))
    assert "(found Python 3.12 for x86_64 only)" in none
    assert "/usr/bin/qemu-aarch64 can emulate aarch64, but there is no aarch64 CPython 3.12" in none
    broken = Emulated(None, "/usr/bin/qemu-aarch64", "LAMBDAPACK_SMOKE_PYTHON_AARCH64", (
        ("/r/usr/bin/python3.12", "/r/usr/bin/python3.12: error while loading shared libraries: libz.so.1: "
                                  "cannot open shared object file: No such file or directory"),))
    reason = emulated_reason(ARM312, None, broken)
    assert "Pythons named by LAMBDAPACK_SMOKE_PYTHON_AARCH64" in reason and "libz.so.1" in reason
    assert "install libc6:arm64" in reason and "QEMU_LD_PREFIX" in reason
    other = Emulated(None, "/usr/bin/qemu-aarch64", None, (("/u/python3.12", "is Python 3.11.2"),))
    assert "/u/python3.12 is Python 3.11.2" in emulated_reason(ARM312, None, other)


def test_an_emulated_interpreter_says_how_it_ran() -> None:
    launch = ("/usr/bin/qemu-aarch64", "-cpu", "neoverse-n1", "-L", "/r")
    emulated = Interpreter("/r/usr/bin/python3.11", (3, 11, 2), "aarch64", "linux", launch)
    text = describe_interpreter(emulated)
    assert "(Python 3.11.2, aarch64) under qemu-aarch64 emulation" in text and "-L /r" in text
    assert emulator_json(emulated) == {"name": "qemu-aarch64", "path": "/usr/bin/qemu-aarch64",
                                       "cpu": "neoverse-n1", "sysroot": "/r"}
    native = Interpreter("/usr/bin/python3.11", (3, 11, 2), "x86_64", "linux")
    assert emulator_json(native) is None and "emulation" not in describe_interpreter(native)
