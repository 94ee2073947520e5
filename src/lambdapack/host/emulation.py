"""Another machine's Linux CPython, run under qemu user-mode emulation (arm64 code on x86_64).

The smoke test must import a zip's `.so` files with an interpreter of the zip's machine. When
this machine is another one, `find_emulated` looks for qemu and for such an interpreter, and
probes it for real under qemu (`scripts/probe_interpreter.py`) before it is used. Nothing is
hard-coded; everything is discovered at run time:

* qemu: ``$LAMBDAPACK_QEMU_AARCH64`` (per machine: ``LAMBDAPACK_QEMU_X86_64``), else
  ``qemu-aarch64`` then ``qemu-aarch64-static`` on PATH (Debian/Ubuntu: `qemu-user`).
* the guest's loader and libraries: ``$QEMU_LD_PREFIX`` (qemu's own variable, passed on as
  ``-L``: a root where the interpreter's ``/lib/ld-linux-aarch64.so.1`` and libraries were
  extracted); else the interpreter's own root, when it sits in one as ``ROOT/usr/bin/python3.X``
  (or ``ROOT/bin/``) and ROOT has the loader its ELF names (Debian packages extracted with
  ``dpkg -x ROOT``); else this machine's own paths (Debian/Ubuntu multiarch: `libc6:arm64`).
* the interpreter: the ones named by ``$LAMBDAPACK_SMOKE_PYTHON_AARCH64`` (several separated by
  ``os.pathsep``; the one of the target's version is used), else every ``python3.X`` that
  `interpreters.candidates` lists (PATH, pyenv, uv-managed: ``uv python install
  cpython-3.12-linux-aarch64-gnu``) whose ELF header names the machine. Named ones are not
  searched beyond.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdapack.facts.machines import EM_AARCH64, EM_X86_64, normalize_machine
from lambdapack.host import processes
from lambdapack.host.interpreters import Interpreter, candidates, fits, parse_probe

__all__ = ["EMULATED_SLOWDOWN", "Emulated", "elf_interpreter", "elf_machine", "find_emulated", "find_qemu",
           "guest_command", "host_machine", "launcher", "own_root", "probe_emulated", "python_variable", "qemu_name",
           "qemu_variable"]

# qemu's TCG runs CPython several times slower than natively: a probe that takes 20 ms here
# takes 0.3 s there, a cold import of a large package tens of seconds.
EMULATED_SLOWDOWN = 5.0
_PROBE_TIMEOUT = 60.0
_PROBE_SCRIPT = "probe_interpreter.py"
_MACHINES = {EM_X86_64: "x86_64", EM_AARCH64: "aarch64"}
_PT_INTERP = 3
# The CPU qemu emulates: Lambda's arm64 is AWS Graviton2, a Neoverse N1 (ARMv8.2), so code built
# for a newer CPU fails here as there; qemu's default ("max") also emulates pointer authentication,
# which Debian 13's CPython uses on every call, 5x slower. Used when `qemu -cpu help` lists it.
_QEMU_CPU = {"aarch64": "neoverse-n1"}
_TOOL_TIMEOUT = 20.0
_HEAD_BYTES = 4096  # the program headers and PT_INTERP's string come first in every linker's output

_lock = threading.Lock()
_probes: dict[tuple[tuple[str, ...], str], tuple[Interpreter | None, str]] = {}  # (launcher, path)
_cpus: dict[str, tuple[str, ...]] = {}  # qemu -> its -cpu arguments


def host_machine() -> str:
    return normalize_machine(platform.machine())


def qemu_name(machine: str) -> str:
    """qemu's user-mode program for a machine: qemu-aarch64, qemu-x86_64."""
    return f"qemu-{normalize_machine(machine)}"


def qemu_variable(machine: str) -> str:
    return f"LAMBDAPACK_QEMU_{normalize_machine(machine).upper()}"


def python_variable(machine: str) -> str:
    return f"LAMBDAPACK_SMOKE_PYTHON_{normalize_machine(machine).upper()}"


def elf_machine(head: bytes) -> str | None:
    """The machine of a little-endian 64-bit ELF file from its first 20 bytes (pure); None for
    anything else (a script, a Mach-O, a 32-bit build, which Lambda never runs)."""
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        return None
    return _MACHINES.get(int.from_bytes(head[18:20], "little"))


def elf_interpreter(head: bytes) -> str | None:
    """The program interpreter (PT_INTERP: the loader, e.g. /lib/ld-linux-aarch64.so.1) of a
    little-endian 64-bit ELF file, from its first bytes (pure); None without one in them."""
    if elf_machine(head) is None or len(head) < 64:
        return None
    phoff = int.from_bytes(head[32:40], "little")
    size, count = int.from_bytes(head[54:56], "little"), int.from_bytes(head[56:58], "little")
    for i in range(count):
        ph = head[phoff + i * size:phoff + (i + 1) * size]
        if len(ph) < 56:
            return None
        if int.from_bytes(ph[0:4], "little") == _PT_INTERP:
            start, length = int.from_bytes(ph[8:16], "little"), int.from_bytes(ph[32:40], "little")
            raw = head[start:start + length]
            return raw.split(b"\0", 1)[0].decode("utf-8", "replace") if len(raw) == length else None
    return None


def _head(path: str, size: int) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def own_root(path: str) -> str | None:
    """The file-system root an interpreter was extracted into (ROOT/usr/bin/python3.X or
    ROOT/bin/python3.X), when that root holds the loader the interpreter names; else None."""
    exe = Path(os.path.realpath(path))
    if exe.parent.name != "bin":
        return None
    root = exe.parent.parent.parent if exe.parent.parent.name == "usr" else exe.parent.parent
    loader = elf_interpreter(_head(str(exe), _HEAD_BYTES))
    if loader is None or root == Path(root.anchor) or not (root / loader.lstrip("/")).exists():
        return None
    return str(root)


def find_qemu(machine: str, environ: Mapping[str, str]) -> str | None:
    """qemu for `machine`: the variable's program, else qemu-<machine>(-static) on PATH."""
    named = environ.get(qemu_variable(machine))
    if named:
        return shutil.which(named, path=environ.get("PATH", ""))
    name = qemu_name(machine)
    for exe in (name, f"{name}-static"):
        found = shutil.which(exe, path=environ.get("PATH", ""))
        if found is not None:
            return found
    return None


def _cpu_args(qemu: str, machine: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    """`-cpu MODEL` for Lambda's CPU when this qemu knows the model (older ones may not)."""
    model = _QEMU_CPU.get(machine)
    if model is None:
        return ()
    with _lock:
        if qemu in _cpus:
            return _cpus[qemu]
    try:
        proc = processes.run_text([qemu, "-cpu", "help"], env=dict(environ), timeout=_TOOL_TIMEOUT)
        known = model in proc.stdout.split()  # qemu 7.2 lists them, then exits with 1
    except (OSError, processes.Timeout):
        known = False
    with _lock:
        _cpus[qemu] = ("-cpu", model) if known else ()
        return _cpus[qemu]


def launcher(qemu: str, machine: str, python: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    """The command prefix that runs `python` under qemu: Lambda's CPU, and -L its guest root
    when there is one."""
    root = environ.get("QEMU_LD_PREFIX") or own_root(python)
    return (qemu, *_cpu_args(qemu, machine, environ), *(("-L", root) if root else ()))


def guest_command(launch: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """(argv prefix, environment) for one emulated process (pure).

    The loader's variables (LD_LIBRARY_PATH, ...) are meant for the guest: set for qemu, they
    would make this machine's loader look for qemu's own libraries in the zip's folders. So they
    go to the guest alone, through `-E`, which splits on commas: a value with one stays in the
    environment, where the guest sees it too.
    """
    if not launch:
        return [], dict(env)
    moved = {k: v for k, v in env.items() if k.startswith("LD_") and "," not in v}
    argv = list(launch)
    for key in sorted(moved):
        argv += ["-E", f"{key}={moved[key]}"]
    return argv, {k: v for k, v in env.items() if k not in moved}


@dataclass(frozen=True)
class Emulated:
    """The outcome of one search: the interpreter, or what was missing."""

    interpreter: Interpreter | None  # probed under qemu; its launcher runs it
    qemu: str | None  # qemu's path; None when none was found
    named_by: str | None  # the variable that named the interpreters; None: they were searched for
    tried: tuple[tuple[str, str], ...]  # (path, why it was refused) for each of the machine's Pythons


def probe_emulated(launch: tuple[str, ...], path: str, environ: Mapping[str, str]) -> tuple[Interpreter | None, str]:
    """Run `path` under `launch` once: (its description, "") or (None, why it did not answer)."""
    key = (launch, path)
    with _lock:
        if key in _probes:
            return _probes[key]
    try:
        proc = processes.run_text([*launch, path, "-I", processes.script(_PROBE_SCRIPT)], env=dict(environ),
                                  timeout=_PROBE_TIMEOUT)
        interp = parse_probe(path, proc.stdout) if proc.returncode == 0 else None
        why = "" if interp is not None else _last_line(proc.stderr) or f"exited with code {proc.returncode}"
    except processes.Timeout:
        interp, why = None, f"did not answer within {_PROBE_TIMEOUT:g}s"
    except OSError as e:
        interp, why = None, str(e)
    result = (dataclasses.replace(interp, launcher=launch) if interp is not None else None, why)
    with _lock:
        _probes[key] = result
    return result


def _last_line(text: str) -> str:
    """Where the loader, qemu or Python says what failed: the last line it wrote."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _named(machine: str, environ: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """The variable that named interpreters, and which (none: search)."""
    var = python_variable(machine)
    listed = [p for p in environ.get(var, "").split(os.pathsep) if p]
    return (var, listed) if listed else (None, [])


def _searched(minor: tuple[int, int], machine: str, environ: Mapping[str, str]) -> list[str]:
    """`python3.X` of this minor among every interpreter path found, whose ELF file is for `machine`."""
    name = f"python{minor[0]}.{minor[1]}"
    return [p for p in candidates(environ, None) if Path(p).name == name and elf_machine(_head(p, 20)) == machine]


def find_emulated(minor: tuple[int, int], machine: str, environ: Mapping[str, str] | None = None) -> Emulated:
    """A Linux CPython `minor` for `machine`, runnable here under qemu, or what is missing."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    want = normalize_machine(machine)
    qemu = find_qemu(want, env)
    named_by, paths = _named(want, env)
    if named_by is None:
        paths = _searched(minor, want, env)
    tried: list[tuple[str, str]] = []
    for path in paths:
        if qemu is None:
            tried.append((path, f"not run: no {qemu_name(want)}"))
            continue
        interp, why = probe_emulated(launcher(qemu, want, path, env), path, env)
        if interp is not None and fits(interp, minor, want):
            return Emulated(interp, qemu, named_by, tuple(tried))
        why = f"did not run: {why.removeprefix(f'{path}: ')}" if interp is None else \
            f"is Python {'.'.join(map(str, interp.version))}"
        tried.append((path, why))
    return Emulated(None, qemu, named_by, tuple(tried))
