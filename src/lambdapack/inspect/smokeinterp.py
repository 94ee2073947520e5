"""Which interpreter a smoke test imports with, and why there is none.

A Linux CPython of the target's minor version and machine, found on this machine
(`host.interpreters`) and run natively; else, when the target is another machine's (arm64 on
x86_64), one run under qemu user-mode emulation (`host.emulation`). The skip reasons are pure
functions of what was found, so they are tested with what other machines report.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lambdapack.host.emulation import (
    Emulated,
    find_emulated,
    host_machine,
    python_variable,
    qemu_name,
    qemu_variable,
)
from lambdapack.host.interpreters import Interpreter, find_interpreter
from lambdapack.target.tags import Target

__all__ = ["describe_interpreter", "emulated_reason", "emulator_json", "find_smoke_interpreter",
           "no_interpreter_reason"]

# Debian's architecture names, for the packages a reason tells to install.
_DEBIAN_ARCH = {"aarch64": "arm64", "x86_64": "amd64"}
_NOTHING = "so nothing was tested"


def find_smoke_interpreter(target: Target) -> tuple[Interpreter | None, str | None]:
    """(the interpreter, None) or (None, why there is none)."""
    minor, machine = target.runtime.python, target.arch.machine
    native = find_interpreter(minor, machine)
    if native is not None:
        return native, None
    if machine == host_machine() or sys.platform != "linux":  # qemu user-mode is Linux's
        return None, no_interpreter_reason(target, find_interpreter(minor))
    found = find_emulated(minor, machine)
    if found.interpreter is not None:
        return found.interpreter, None
    return None, emulated_reason(target, find_interpreter(minor), found)


def no_interpreter_reason(target: Target, other: Interpreter | None) -> str:
    """The skip reason, given the interpreter of the target's version found for any machine
    and OS (pure: tests pass what a macOS or Windows probe describes)."""
    version, machine = target.runtime.version, target.arch.machine
    if other is not None and other.sys_platform not in ("linux", ""):
        return (f"no Linux Python {version} interpreter on this machine (found one for {other.sys_platform} only, "
                f"which cannot load the zip's Linux extension modules), {_NOTHING}")
    if other is not None:
        return (f"no Python {version} interpreter for {machine} ({target.arch.value}) on this machine "
                f"(found Python {version} for {other.machine} only); {target.arch.value} code cannot "
                f"be imported here, {_NOTHING}")
    return (f"no Python {version} interpreter on this machine (looked on PATH, in pyenv and in "
            f"uv's managed Pythons); install it (e.g. `uv python install {version}`) to smoke-test "
            f"{target.runtime.name}")


def emulated_reason(target: Target, other: Interpreter | None, found: Emulated) -> str:
    """The skip reason when qemu could have run another machine's interpreter: what is missing
    (qemu, an interpreter of that machine, or its libraries) and how to get it (pure)."""
    version, machine = target.runtime.version, target.arch.machine
    qemu, deb = qemu_name(machine), _DEBIAN_ARCH.get(machine, machine)
    head = f"no Python {version} interpreter for {machine} ({target.arch.value}) on this machine"
    if other is not None and other.sys_platform == "linux":
        head += f" (found Python {version} for {other.machine} only)"
    get_qemu = f"install {qemu} (Debian/Ubuntu: apt-get install qemu-user) or set {qemu_variable(machine)}"
    get_python = (f"get a CPython {version} for {machine} (e.g. `uv python install cpython-{version}-linux-{machine}-gnu`, "
                  f"or Debian/Ubuntu's python{version}-minimal:{deb} and libpython{version}-stdlib:{deb} "
                  f"extracted with dpkg -x) and name it with {python_variable(machine)}=PATH")
    where = f" named by {found.named_by}" if found.named_by else ""
    if found.qemu is None and not found.tried:
        return f"{head}, and no {qemu} to emulate one: {get_qemu}, and {get_python}; {_NOTHING}"
    if found.qemu is None:
        shown = ", ".join(path for path, _why in found.tried)
        return f"{head}: found {shown}{where} for {machine}, but no {qemu} to run it: {get_qemu}; {_NOTHING}"
    if not found.tried:
        return f"{head}: {found.qemu} can emulate {machine}, but there is no {machine} CPython {version}: {get_python}; {_NOTHING}"
    refused = "; ".join(f"{path} {why}" for path, why in found.tried)
    hint = ""
    if any("ld-linux" in why or "shared librar" in why for _path, why in found.tried):
        hint = (f" (its loader or libraries are missing here: install libc6:{deb} and its libraries' "
                f":{deb} packages, or set QEMU_LD_PREFIX to the root they were extracted into)")
    return (f"{head}: {found.qemu} can emulate {machine}, but of its Pythons{where}, {refused}{hint}; "
            f"{get_python}; {_NOTHING}")


def describe_interpreter(i: Interpreter) -> str:
    text = f"{i.path} (Python {'.'.join(map(str, i.version))}, {i.machine})"
    if i.launcher:
        text += f" under {Path(i.launcher[0]).name} emulation ({' '.join(i.launcher)})"
    return text


def emulator_json(i: Interpreter) -> dict[str, object] | None:
    """How the interpreter ran: None natively, else the emulator and its guest root (-L)."""
    if not i.launcher:
        return None
    def option(flag: str) -> str | None:
        return i.launcher[i.launcher.index(flag) + 1] if flag in i.launcher else None

    return {"name": Path(i.launcher[0]).name, "path": i.launcher[0], "cpu": option("-cpu"), "sysroot": option("-L")}
