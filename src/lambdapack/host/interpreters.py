"""Find a CPython interpreter of a given minor version on this machine.

Used to compile bytecode for the *target* runtime: a .pyc is only valid for the
minor version whose magic number it carries, so we need e.g. a 3.12 to compile
for python3.12, whatever Python runs lambdapack itself.

No path is hard-coded. Candidates come, in this order, from:

1. PATH: `python3.X` in each PATH directory (except pyenv's shims folder);
2. pyenv: `<root>/versions/*/bin/python3.X`, newest first. The root is
   `pyenv root` when `pyenv` is on PATH, else $PYENV_ROOT, else ~/.pyenv. We use
   the versions directory, not the shims: a shim for a version that is not
   active refuses to run ("pyenv: python3.12: command not found");
3. uv-managed Pythons: `uv python find --managed-python 3.X`, never downloading
   (`--no-python-downloads` and UV_PYTHON_DOWNLOADS=never);
4. PATH: `python3`, then `python`;
5. `sys.executable`.

Each candidate is run once per process (`-I scripts/probe_interpreter.py`, a few milliseconds) to learn its
real version, machine and OS (`sys.platform`); only CPython with the GIL (not a free-threaded `t`
build) and not an alpha/beta (whose magic number can differ from the final
release's) is accepted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lambdapack.facts.machines import normalize_machine
from lambdapack.host import processes

__all__ = ["Interpreter", "candidates", "clear_cache", "find_interpreter", "fits", "parse_probe", "probe"]

# Run on each candidate: scripts/probe_interpreter.py prints one JSON line.
_PROBE_SCRIPT = "probe_interpreter.py"
_PROBE_TIMEOUT = 20.0
_TOOL_TIMEOUT = 20.0
_VERSIONED = re.compile(r"^python3\.(\d+)$")


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: tuple[int, int, int]
    machine: str  # normalised platform.machine(): "x86_64" or "aarch64" (others as reported)
    # sys.platform of the interpreter ("linux", "darwin", "win32"); "" when not probed
    # (an interpreter remembered for bytecode, which does not depend on the OS).
    sys_platform: str = ""
    # What runs it on this machine, before its path: () natively, else an emulator's command
    # (host/emulation.py: qemu-aarch64 [-cpu MODEL] [-L ROOT]) for another machine's interpreter.
    launcher: tuple[str, ...] = ()

    @property
    def minor(self) -> tuple[int, int]:
        return (self.version[0], self.version[1])

    @property
    def cache_tag(self) -> str:
        """`sys.implementation.cache_tag` of this interpreter, e.g. "cpython-312"."""
        return f"cpython-{self.version[0]}{self.version[1]}"


_lock = threading.Lock()
_probes: dict[str, Interpreter | None] = {}
_found: dict[tuple[object, ...], Interpreter | None] = {}


def clear_cache() -> None:
    """Forget every probe and search result (tests; a long-lived process)."""
    with _lock:
        _probes.clear()
        _found.clear()


def probe(path: str, environ: Mapping[str, str] | None = None) -> Interpreter | None:
    """Run `path` once and describe it; None if it is not a usable CPython."""
    with _lock:
        if path in _probes:
            return _probes[path]
    result = _run_probe(path, environ)
    with _lock:
        _probes[path] = result
    return result


def _run_probe(path: str, environ: Mapping[str, str] | None) -> Interpreter | None:
    env = dict(os.environ if environ is None else environ)
    try:
        proc = processes.run_text([path, "-I", processes.script(_PROBE_SCRIPT)], env=env, timeout=_PROBE_TIMEOUT)
    except (OSError, processes.Timeout):
        return None
    if proc.returncode != 0:
        return None  # e.g. a pyenv shim for a version that is not active
    return parse_probe(path, proc.stdout)


def parse_probe(path: str, stdout: str) -> Interpreter | None:
    """The interpreter scripts/probe_interpreter.py described on `stdout`; None if it is not
    a usable CPython (pure: tests feed it what other machines' Pythons print)."""
    try:
        info = json.loads(stdout.strip().splitlines()[-1])
        version = tuple(int(x) for x in info["version"])
        machine = str(info["machine"])
        impl = str(info["implementation"])
        level = str(info["releaselevel"])
        gil_disabled = info.get("gil_disabled")
        sys_platform = str(info.get("platform", ""))  # probes before 2026-12 did not say
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    if impl != "cpython" or gil_disabled in (1, "1", True) or len(version) != 3:
        return None
    if level in ("alpha", "beta"):
        return None
    if info.get("cache_tag") != f"cpython-{version[0]}{version[1]}":
        return None
    return Interpreter(path=path, version=(version[0], version[1], version[2]),
                       machine=normalize_machine(machine), sys_platform=sys_platform)


def fits(interp: Interpreter, minor: tuple[int, int], machine: str | None) -> bool:
    """Whether `interp` serves a search for `minor` and, when given, `machine`.

    A machine is asked for only to run Linux native code (the smoke test imports the zip's
    `.so` files): a macOS or Windows Python of the same machine cannot load them, so with a
    machine the interpreter must also be a Linux one. Without one (bytecode, which is
    portable) any OS will do.
    """
    if interp.minor != tuple(minor):
        return False
    if machine is None:
        return True
    return interp.machine == normalize_machine(machine) and interp.sys_platform == "linux"


def _path_dirs(environ: Mapping[str, str]) -> list[str]:
    return [d for d in environ.get("PATH", "").split(os.pathsep) if d]


def _is_executable(p: str) -> bool:
    return Path(p).is_file() and os.access(p, os.X_OK)


def _pyenv_root(environ: Mapping[str, str]) -> Path | None:
    pyenv = shutil.which("pyenv", path=environ.get("PATH", ""))
    if pyenv is not None:
        try:
            proc = processes.run_text([pyenv, "root"], env=environ, timeout=_TOOL_TIMEOUT)
            out = proc.stdout.strip()
            if proc.returncode == 0 and out:
                return Path(out)
        except (OSError, processes.Timeout):
            pass
    if environ.get("PYENV_ROOT"):
        return Path(environ["PYENV_ROOT"])
    home = environ.get("HOME")
    return Path(home) / ".pyenv" if home else None


def _version_key(name: str) -> tuple[int, tuple[int, ...], str]:
    """Sort pyenv version folders: plain X.Y.Z newest first, then anything else by name."""
    m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", name)
    if m:
        nums = tuple(int(g) for g in m.groups() if g is not None)
        return (0, tuple(-n for n in nums), name)
    return (1, (), name)


def _pyenv_candidates(root: Path | None, minor: tuple[int, int] | None) -> list[str]:
    if root is None:
        return []
    versions = root / "versions"
    try:
        names = sorted((p.name for p in versions.iterdir() if p.is_dir()), key=_version_key)
    except OSError:
        return []
    out: list[str] = []
    for name in names:
        out += _versioned_in(versions / name / "bin", minor)
    return out


def _versioned_in(directory: Path, minor: tuple[int, int] | None) -> list[str]:
    """`python3.X` in a directory (every X, newest first, when minor is None)."""
    if minor is not None:
        p = str(directory / f"python{minor[0]}.{minor[1]}")
        return [p] if _is_executable(p) else []
    try:
        names = [c.name for c in directory.iterdir()]
    except OSError:
        return []
    found = sorted(((int(m.group(1)), n) for n in names if (m := _VERSIONED.match(n))), reverse=True)
    return [str(directory / n) for _x, n in found if _is_executable(str(directory / n))]


def _uv_bin(environ: Mapping[str, str]) -> str | None:
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    return shutil.which(environ.get("UV") or "uv", path=environ.get("PATH", ""))


def _uv_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"  # finding must never download an interpreter
    env.setdefault("NO_COLOR", "1")
    return env


def _uv_candidates(environ: Mapping[str, str], minor: tuple[int, int] | None) -> list[str]:
    uv = _uv_bin(environ)
    if uv is None:
        return []
    env = _uv_env(environ)
    try:
        if minor is not None:
            # --managed-python: PATH and pyenv are searched by us already (and uv
            # fails outright on an inactive pyenv shim it meets on PATH).
            argv = [
                uv,
                "python",
                "find",
                "--managed-python",
                "--no-python-downloads",
                "--no-project",
                "--no-config",
                f"{minor[0]}.{minor[1]}",
            ]
            proc = processes.run_text(argv, env=env, timeout=_TOOL_TIMEOUT)
            out = proc.stdout.strip()
            return [out] if proc.returncode == 0 and out and _is_executable(out) else []
        # Without a version: every managed install, from uv's install directory.
        proc = processes.run_text([uv, "python", "dir", "--no-config"], env=env, timeout=_TOOL_TIMEOUT)
        root = Path(proc.stdout.strip())
        if proc.returncode != 0 or not proc.stdout.strip() or not root.is_dir():
            return []
        out_list: list[str] = []
        for install in sorted(root.iterdir(), reverse=True):
            out_list += _versioned_in(install / "bin", None)
        return out_list
    except (OSError, processes.Timeout):
        return []


def _dedupe(paths: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for p in paths:
        key = os.path.realpath(p)
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out


def candidates(
    environ: Mapping[str, str], minor: tuple[int, int] | None = None, *, use_uv: bool = True
) -> list[str]:
    """Interpreter paths to try, best first, without running any of them.

    With `minor`, only names that can be that version (`python3.X`) plus the
    generic fallbacks; without it, every `python3.X` found. Paths resolving to
    the same file are listed once (the first name wins). `pyenv root` and `uv`
    are asked where their interpreters live; nothing is downloaded.
    """
    dirs = _path_dirs(environ)
    root = _pyenv_root(environ)
    shims = os.path.realpath(root / "shims") if root is not None else None
    ordered: list[str] = []
    for d in dirs:
        # pyenv's shim for a version that is not active exits 127; its versions
        # folder below has the same interpreters, runnable.
        if shims is None or os.path.realpath(d) != shims:
            ordered += _versioned_in(Path(d), minor)
    ordered += _pyenv_candidates(root, minor)
    if use_uv:
        ordered += _uv_candidates(environ, minor)
    for name in ("python3", "python"):
        for d in dirs:
            p = str(Path(d) / name)
            if _is_executable(p):
                ordered.append(p)
    if sys.executable:
        ordered.append(sys.executable)
    return _dedupe(ordered)


def find_interpreter(
    minor: tuple[int, int],
    machine: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Interpreter | None:
    """The first CPython `minor` (e.g. (3, 12)) among `candidates()`, or None.

    `machine` ("x86_64"/"aarch64"; "arm64"/"amd64" accepted) restricts the search
    to Linux interpreters of that architecture, the ones that can import the target's
    native code (see `fits`). Bytecode does not depend on it: a .pyc compiled on x86_64
    or macOS is valid on arm64 Linux, so callers compiling bytecode need not pass it.
    Results are cached for the life of the process.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    want = normalize_machine(machine) if machine is not None else None
    key = (minor, want, env.get("PATH"), env.get("PYENV_ROOT"), env.get("HOME"))
    with _lock:
        if key in _found:
            return _found[key]
    result: Interpreter | None = None
    for path in candidates(env, minor):
        interp = probe(path, env)
        if interp is not None and fits(interp, minor, want):
            result = interp
            break
    with _lock:
        _found[key] = result
    return result
