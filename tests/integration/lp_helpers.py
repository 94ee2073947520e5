"""Shared helpers for the integration tests (imported by the test modules and conftest).

Real PyPI, real wheels, real processes.

Nothing here mocks lambdapack. The CLI runs either in-process (`lambdapack.cli.main.main`)
or as `sys.executable -m lambdapack` in a clean environment (`clean_env`): no PIP_*,
no PYTHON*, no SOURCE_DATE_EPOCH, so the results do not depend on this machine's pip
configuration or bytecode settings. Binaries are judged by our own small ELF/Mach-O
readers below and by GNU `readelf`, never by the product's reader.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from host_pythons import python_exe as python_exe  # re-exported: tests import it from here
from loopback import silent_server

T = TypeVar("T")

# Variables a build legitimately needs from the outer environment (network, TLS,
# the uv cache location and uv's own settings). Everything else is dropped.
_KEEP = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR", "XDG_CACHE_HOME",
         "LAMBDAPACK_CACHE_DIR"}
_KEEP_PREFIXES = ("UV_",)
_PROXY = re.compile(r"^(https?|no|all)_proxy$", re.IGNORECASE)

EM_X86_64 = 62
EM_AARCH64 = 183
_MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe",  # 32-bit
    b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",  # 64-bit
    b"\xca\xfe\xba\xbe",  # universal (fat)
}


def clean_env(extra: Mapping[str, str] | None = None, *, drop: Iterable[str] = ()) -> dict[str, str]:
    """A minimal, explicit environment for a child process."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in _KEEP or k.startswith(_KEEP_PREFIXES) or _PROXY.match(k)
    }
    env.setdefault("PATH", os.defpath)
    env["NO_COLOR"] = "1"
    for k in drop:
        env.pop(k, None)
    env.update(extra or {})
    return env


@dataclass
class Run:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        try:
            return json.loads(self.stdout)  # type: ignore[no-any-return]
        except json.JSONDecodeError as e:  # pragma: no cover - only on failure
            raise AssertionError(f"stdout is not JSON ({e}):\n{self.stdout}\nstderr:\n{self.stderr}") from None

    def explain(self) -> str:
        return f"argv={self.argv}\nexit={self.returncode}\nstdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}"


def run_lp(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    umask: int = -1,
    timeout: float = 300,
) -> Run:
    """`python -m lambdapack ARGS` in its own process with a clean environment."""
    argv = [sys.executable, "-m", "lambdapack", *args]
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        umask=umask,
        check=False,
    )
    return Run(argv, proc.returncode, proc.stdout, proc.stderr)


def lp_build_json(args: list[str], **kw: Any) -> tuple[Run, dict[str, Any]]:
    """Run a build that must succeed; return the run and its JSON report."""
    r = run_lp([*args, "--format", "json"], **kw)
    assert r.returncode == 0, r.explain()
    return r, r.json


def zip_names(path: Path) -> list[str]:
    """The member names of a zip, in their order."""
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def write_handler(src: Path, body: str = "") -> Path:
    src.mkdir(parents=True, exist_ok=True)
    (src / "lambda_function.py").write_text(
        f"{body}\n\ndef lambda_handler(event, context):\n    return {{'ok': True}}\n", encoding="utf-8"
    )
    return src


# --- our own binary readers (independent of lambdapack.inspect.elf) -----------------


@dataclass(frozen=True)
class ElfHeader:
    elf_class: int  # 1 = 32-bit, 2 = 64-bit
    data: int  # 1 = little-endian, 2 = big-endian
    machine: int


def elf_header(data: bytes) -> ElfHeader | None:
    """e_ident class/data and e_machine (offset 18, 2 bytes) of an ELF file, else None."""
    if len(data) < 20 or data[:4] != b"\x7fELF":
        return None
    ei_class, ei_data = data[4], data[5]
    fmt = "<H" if ei_data == 1 else ">H"
    (machine,) = struct.unpack_from(fmt, data, 18)
    return ElfHeader(ei_class, ei_data, machine)


def is_macho(data: bytes) -> bool:
    return data[:4] in _MACHO_MAGICS


def readelf_path() -> str | None:
    return shutil.which("readelf")


_GLIBC_NEED = re.compile(r"Name:\s*GLIBC_(\d+(?:\.\d+)+)")


def glibc_needs(path: Path, readelf: str) -> set[tuple[int, ...]]:
    """GLIBC_x.y versions `path` requires, from `readelf -V` (the oracle)."""
    out = subprocess.run(
        [readelf, "-V", "-W", str(path)], capture_output=True, text=True, check=True,
        env=clean_env({"LC_ALL": "C"}),
    ).stdout
    return {tuple(int(x) for x in m.group(1).split(".")) for m in _GLIBC_NEED.finditer(out)}


def extract_elf_members(zip_path: Path, dest: Path) -> dict[str, Path]:
    """Extract every ELF member of the zip into dest; {arcname: extracted path}."""
    found: dict[str, Path] = {}
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            with zf.open(info) as f:
                head = f.read(64)
            if head[:4] == b"\x7fELF":
                found[info.filename] = Path(zf.extract(info, dest))
    return found


def so_members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Members named like shared objects: x.so, x.so.1, x.cpython-312-...so."""
    return [i for i in zf.infolist() if re.search(r"\.so(\.\d+)*$", i.filename)]


def require_readelf() -> str:
    path = readelf_path()
    if path is None:
        pytest.skip("readelf (GNU binutils) is not on PATH; the GLIBC oracle part is skipped")
    return path


def assert_no_outputs(root: Path, keep: Iterable[Path] = ()) -> None:
    """No zip and no `.partial` temp file anywhere under root (except `keep`)."""
    keep_set = {p.resolve() for p in keep}
    stray = [
        p for p in root.rglob("*")
        if p.is_file() and (p.suffix == ".zip" or ".partial" in p.name) and p.resolve() not in keep_set
    ]
    assert stray == [], f"left behind: {stray}"


def make_zero_layer(path: Path, size: int) -> Path:
    """A layer zip declaring `size` bytes unzipped (zeros compress ~1000:1: cheap).

    In members of 1 MiB: one member of zeros at that ratio is a zip bomb (LP304) to
    the archive rules, which `build --with-layer` runs like `check --layer`; members
    this small are exempt from the ratio limit, as real padded data files are."""
    block = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        left = size
        for i in itertools.count():
            if not left:
                break
            n = min(left, len(block))
            info = zipfile.ZipInfo(f"python/zeros/{i:04d}.bin", (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16  # zipfile's default is 0600, which Lambda cannot read (LP401)
            zf.writestr(info, block[:n])
            left -= n
    return path


def chmod_tree(root: Path, *, writable: bool) -> None:
    """Make a tree read-only (like /var/task) or writable again (to delete it)."""
    bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for dp, dns, fs in os.walk(root):
        for name in [*dns, *fs]:
            p = Path(dp, name)
            mode = p.lstat().st_mode
            p.chmod((mode | stat.S_IWUSR) if writable else (mode & ~bits))
    mode = root.stat().st_mode
    root.chmod((mode | stat.S_IWUSR) if writable else (mode & ~bits))


# --- processes, seen through /proc (Linux) ---------------------------------------
# Signal tests wait for a state (a child exists, a progress line appeared), never for a
# time: under load a fixed sleep lets the signal land before the CLI set its handler.

HAS_PROC = Path("/proc/self/stat").exists()
needs_proc = pytest.mark.skipif(not HAS_PROC, reason="needs /proc to see child processes")

# Long enough that only a real hang reaches it on a loaded 2-core machine.
HANG = 120.0
# A deadline the product promises (exit within 2 s of SIGTERM, fail within 60 s on a
# stalled index) is asserted at LOADED times the promise: a loaded 2-core machine slows
# the CLI's start and uv's, and only a broken timeout reaches that. Tests print the real time.
LOADED = 3


def processes() -> dict[int, tuple[str, int]]:
    """pid -> (state, parent pid) of every process."""
    out: dict[int, tuple[str, int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(d.name)] = (fields[0], int(fields[1]))
    return out


def descendants(root: int) -> set[int]:
    """Every live process below `root` (children, their children, ...)."""
    procs = processes()
    found = {root}
    grew = True
    while grew:
        grew = False
        for pid, (state, ppid) in procs.items():
            if ppid in found and pid not in found and state != "Z":
                found.add(pid)
                grew = True
    return found - {root}


def alive(pids: Iterable[int]) -> set[int]:
    procs = processes()
    return {p for p in pids if p in procs and procs[p][0] != "Z"}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def processes_mentioning(needle: str, *, exclude: Iterable[int] = ()) -> list[int]:
    """Live processes (other than this one and `exclude`) whose command line has `needle`."""
    skip = {os.getpid(), *exclude}
    return sorted(p for p, (state, _ppid) in processes().items()
                  if p not in skip and state != "Z" and needle in cmdline(p))


def children_mentioning(root: int, needle: str) -> set[int]:
    """Descendants of `root` whose command line has `needle` (e.g. the uv a build started;
    the build's own argv may name the same file, so it must not count)."""
    return {p for p in descendants(root) if needle in cmdline(p)}


def wait_for(state: Callable[[], T], what: str, *, proc: subprocess.Popen[Any] | None = None,
             timeout: float = HANG) -> T:
    """Poll `state()` until it is truthy and return it; fail if `proc` ends first or
    nothing happens within `timeout` (a hang, not slowness)."""
    deadline = time.monotonic() + timeout
    while True:
        got = state()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)


def still_there(pids: Callable[[], Iterable[int]], grace: float = 2.0) -> list[int]:
    """What `pids()` still lists after up to `grace` seconds: a killed process is gone in
    milliseconds, so this only waits out the kernel's reaping, never a process that lives on."""
    deadline = time.monotonic() + grace
    while (left := sorted(pids())) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def read_until(stream: Any, marker: str | bytes) -> Any:
    """Read lines from a child's pipe until one contains `marker`; return what was read.
    A progress line is a state: the CLI is past its setup (signal handler) and in that stage."""
    seen = marker[:0]
    for line in stream:
        seen += line
        if marker in line:
            return seen
    pytest.fail(f"{marker!r} never appeared on the stream:\n{seen!r}")


# --- a package index that never answers ---------------------------------------------


@contextlib.contextmanager
def silent_index() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback 'package index' that accepts connections and never answers; yields
    its URL and the connections it got (none means uv never asked it anything)."""
    with silent_server() as (port, got):
        yield f"http://127.0.0.1:{port}/simple", got
