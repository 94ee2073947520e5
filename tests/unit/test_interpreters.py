"""Interpreter discovery, against the real interpreters of this machine.

No mocks: fake PATH and pyenv folders are made of symlinks to real interpreters
(found by the code under test, then checked by running them) and of a real shell
script standing in for an inactive pyenv shim.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from host_pythons import need_interpreter

from lambdapack.facts.machines import normalize_machine
from lambdapack.host.interpreters import (
    Interpreter,
    candidates,
    clear_cache,
    find_interpreter,
    fits,
    parse_probe,
    probe,
)

MINORS = [(3, m) for m in range(9, 15)]
HOST_MACHINE = normalize_machine(platform.machine())



def need_two() -> tuple[Interpreter, Interpreter]:
    found = [i for m in MINORS if (i := find_interpreter(m)) is not None]
    if len(found) < 2:
        pytest.skip("needs two CPython minor versions on this machine")
    return found[-1], found[0]


def isolated_env(tmp_path: Path, path_dirs: list[Path], pyenv_root: Path | None = None) -> dict[str, str]:
    """PATH of our folders only; pyenv and uv pointed at empty places."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.pathsep.join(str(d) for d in path_dirs),
        "HOME": str(home),
        "PYENV_ROOT": str(pyenv_root or tmp_path / "no-pyenv"),
        "XDG_DATA_HOME": str(home / "share"),
    }


def link(directory: Path, name: str, target: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / name
    p.symlink_to(target)
    return p


def with_sys_executable(expected: list[str]) -> list[str]:
    """candidates() always ends with sys.executable unless the same file is already listed."""
    real = {os.path.realpath(p) for p in expected}
    return expected if os.path.realpath(sys.executable) in real else [*expected, sys.executable]


def test_normalize_machine() -> None:
    assert normalize_machine("x86_64") == "x86_64"
    assert normalize_machine("AMD64") == "x86_64"
    assert normalize_machine("arm64") == "aarch64"
    assert normalize_machine("aarch64") == "aarch64"


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: f"{m[0]}.{m[1]}")
def test_find_interpreter_returns_that_minor_and_machine(minor: tuple[int, int]) -> None:
    interp = need_interpreter(minor)
    assert interp.minor == minor
    assert interp.cache_tag == f"cpython-{minor[0]}{minor[1]}"
    # Independently of the probe: ask the interpreter itself.
    out = subprocess.run(
        [interp.path, "-I", "-c", "import sys, platform; print(sys.version_info[:3], platform.machine())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(")")
    assert out[0] + ")" == str(interp.version)
    assert normalize_machine(out[1].strip()) == interp.machine == HOST_MACHINE
    # Asking for this machine finds it; asking for the other one finds none or a real one of that arch.
    assert find_interpreter(minor, HOST_MACHINE) == interp
    other = "aarch64" if HOST_MACHINE == "x86_64" else "x86_64"
    found_other = find_interpreter(minor, other)
    assert found_other is None or found_other.machine == other


def test_missing_minor_is_none_and_remembered(spawned: list[list[str]]) -> None:
    """The answer is remembered: asking again starts no process (it was timed before)."""
    clear_cache()
    assert find_interpreter((3, 99)) is None
    first = len(spawned)
    assert find_interpreter((3, 99)) is None
    print(f"find_interpreter((3, 99)): {first} processes started, {len(spawned) - first} when asked again")
    assert spawned[first:] == []


def test_candidates_order_from_path(tmp_path: Path) -> None:
    newest, oldest = need_two()
    host = sys.executable
    b1, b2 = tmp_path / "b1", tmp_path / "b2"
    new_name = f"python{newest.minor[0]}.{newest.minor[1]}"
    old_name = f"python{oldest.minor[0]}.{oldest.minor[1]}"
    a = link(b1, new_name, newest.path)
    link(b1, "python3", host)
    link(b2, new_name, newest.path)  # same file as b1's: listed once, first name kept
    c = link(b2, old_name, oldest.path)
    link(b2, "python", oldest.path)  # same file as b2's python3.X
    (b2 / "notes.txt").write_text("not an interpreter\n")
    (b2 / "python3.0x").write_text("not matched by the versioned pattern\n")
    env = isolated_env(tmp_path, [b1, b2])

    all_ = candidates(env)
    assert all_ == with_sys_executable([str(a), str(c), str(b1 / "python3")])
    # For one minor: its versioned names first, then the generic names, then sys.executable.
    generic = [str(b1 / "python3"), str(b2 / "python")]
    assert candidates(env, newest.minor) == with_sys_executable([str(a), *generic])
    assert candidates(env, (3, 99)) == with_sys_executable(generic)

    clear_cache()
    found = find_interpreter(oldest.minor, environ=env)
    assert found is not None
    assert (found.path, found.version) == (str(c), oldest.version)


def test_pyenv_versions_preferred_over_inactive_shims(tmp_path: Path) -> None:
    interp = need_two()[0]
    name = f"python{interp.minor[0]}.{interp.minor[1]}"
    root = tmp_path / "pyenv"
    shim = root / "shims" / name
    shim.parent.mkdir(parents=True)
    # What pyenv's shim does for a version that is not active.
    shim.write_text(f'#!/bin/sh\necho "pyenv: {name}: command not found" >&2\nexit 127\n')
    shim.chmod(0o755)
    ver = ".".join(map(str, interp.version))
    real = link(root / "versions" / ver / "bin", name, interp.path)
    older = link(root / "versions" / "3.1.0" / "bin", name, interp.path)  # same file: deduplicated
    assert older.exists()
    env = isolated_env(tmp_path, [root / "shims"], pyenv_root=root)

    got = candidates(env, interp.minor)
    assert got[0] == str(real)
    assert str(shim) not in got

    clear_cache()
    found = find_interpreter(interp.minor, environ=env)
    assert found is not None and found.path == str(real)
    # The shim itself is never accepted.
    assert probe(str(shim), env) is None


def test_pyenv_version_folders_newest_first(tmp_path: Path) -> None:
    newest, oldest = need_two()
    root = tmp_path / "pyenv"
    # Two "versions" of one minor: 3.X.10 sorts before 3.X.9 (numerically, not by name).
    name = f"python{newest.minor[0]}.{newest.minor[1]}"
    lo = link(root / "versions" / f"{newest.minor[0]}.{newest.minor[1]}.9" / "bin", name, newest.path)
    hi_dir = root / "versions" / f"{newest.minor[0]}.{newest.minor[1]}.10" / "bin"
    hi_dir.mkdir(parents=True)
    # A copy-free distinct file: a wrapper script that execs the real interpreter.
    hi = hi_dir / name
    hi.write_text(f'#!/bin/sh\nexec "{newest.path}" "$@"\n')
    hi.chmod(0o755)
    env = isolated_env(tmp_path, [], pyenv_root=root)
    got = candidates(env, newest.minor)
    assert got[:2] == [str(hi), str(lo)]
    assert str(oldest.path) not in got


def test_rejects_what_is_not_a_runnable_cpython(tmp_path: Path) -> None:
    script = tmp_path / "python3.12"
    script.write_text("#!/bin/sh\necho 'not json'\n")
    script.chmod(0o755)
    assert probe(str(script)) is None
    assert probe(str(tmp_path / "does-not-exist")) is None
    broken = tmp_path / "python3.11"
    broken.write_text("#!/bin/sh\necho '{\"version\": [3, 11, 0]}'\n")  # incomplete answer
    broken.chmod(0o755)
    assert probe(str(broken)) is None


def _probe_line(**changes: object) -> str:
    """What scripts/probe_interpreter.py prints, run for real on this interpreter, with
    `changes` standing in for what another machine's Python would say."""
    import json

    from lambdapack.host import processes

    out = subprocess.run([sys.executable, "-I", processes.script("probe_interpreter.py")],
                         capture_output=True, text=True, check=True).stdout
    info = json.loads(out.strip().splitlines()[-1])
    assert info["platform"] == sys.platform  # the probe reports the OS
    info.update(changes)
    return json.dumps(info)


def test_probe_reports_linux_here() -> None:
    interp = parse_probe("/x/python", _probe_line())
    assert interp is not None and interp.sys_platform == "linux" and interp.machine == HOST_MACHINE


@pytest.mark.parametrize("system", ["darwin", "win32", "cygwin", ""])
def test_a_non_linux_python_is_not_accepted_for_native_imports(system: str) -> None:
    """A macOS or Windows Python of the right version and machine would import the zip's Linux
    `.so` files and fail: the smoke test must skip, not report FAILED, so the search for a
    machine (smoke) refuses it; bytecode (no machine) still takes it."""
    machine = {"darwin": "arm64", "win32": "AMD64"}.get(system, "x86_64")
    interp = parse_probe("/x/python", _probe_line(platform=system, machine=machine))
    assert interp is not None and interp.sys_platform == system
    minor = interp.minor
    assert not fits(interp, minor, interp.machine)
    assert not fits(interp, minor, "arm64" if machine == "arm64" else "x86_64")
    assert fits(interp, minor, None)


def test_a_linux_python_fits_its_machine_and_minor_only() -> None:
    interp = parse_probe("/x/python", _probe_line(machine="aarch64", platform="linux"))
    assert interp is not None
    assert fits(interp, interp.minor, "arm64") and fits(interp, interp.minor, "aarch64")
    assert not fits(interp, interp.minor, "x86_64")
    assert not fits(interp, (interp.minor[0], interp.minor[1] + 1), "aarch64")


def test_probe_output_that_is_not_a_usable_cpython_is_refused() -> None:
    assert parse_probe("/x/python", _probe_line(implementation="pypy")) is None
    assert parse_probe("/x/python", _probe_line(releaselevel="beta")) is None
    assert parse_probe("/x/python", _probe_line(gil_disabled=1)) is None
    assert parse_probe("/x/python", "not json") is None
    assert parse_probe("/x/python", "[1, 2]") is None


def test_smoke_skips_with_a_reason_that_names_the_os() -> None:
    """Only a macOS Python 3.X here: smoke is SKIPPED, saying why (not 'for another machine')."""
    from lambdapack.facts.runtimes import Arch, get_runtime
    from lambdapack.inspect.smokeinterp import no_interpreter_reason
    from lambdapack.target.tags import Target

    mac = parse_probe("/opt/homebrew/bin/python3", _probe_line(platform="darwin", machine="arm64"))
    assert mac is not None
    target = Target(get_runtime(f"python{mac.minor[0]}.{mac.minor[1]}"), Arch.ARM64)
    reason = no_interpreter_reason(target, mac)
    assert "darwin" in reason and "Linux" in reason and "nothing was tested" in reason
    linux_x86 = parse_probe("/usr/bin/python3", _probe_line(platform="linux", machine="x86_64"))
    assert linux_x86 is not None
    assert "for x86_64 only" in no_interpreter_reason(target, linux_x86)
    assert "uv python install" in no_interpreter_reason(target, None)
