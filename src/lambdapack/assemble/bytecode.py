"""Compile the staged .py files into hash-based .pyc for the target Python.

Why: Lambda extracts the zip into a read-only /var/task (or /opt) with the zip's
fixed dates, so a timestamp .pyc never validates there and Python recompiles every
module on every cold start, in memory, because it cannot write the cache. A
hash-based .pyc (PEP 552) does not look at dates: "unchecked-hash" is trusted as
is, "checked-hash" is validated against a hash of the source. Either is used.

How: the target's own interpreter (see `interpreters.find_interpreter`) runs
`py_compile` over the sources in a few parallel subprocesses, writing into a
separate output directory that mirrors the zip (`pkg/__pycache__/mod.cpython-312.pyc`);
the sources and the install directory (which may hard-link uv's cache) are only read.
Each source's Lambda path is compiled in as `co_filename`, so tracebacks name
/var/task/... and the bytes do not depend on our temporary directory.

Reproducibility: the same sources give the same bytes whatever the number of jobs
or the order of files. Two things would otherwise leak in:

- string hashes: marshal writes a frozenset constant (`x in {"a", "b"}`) in hash
  order, and on 3.9/3.10 that order follows the hash seed. The child runs with
  PYTHONHASHSEED=0, so it is not started with -I (which ignores PYTHON*
  variables); it gets -S -s -B, an environment without other PYTHON* variables,
  and drops its own directory from sys.path itself (the script is
  `scripts/compile_worker.py`, run by path).
- process history: marshal flags an object as "may be referenced later"
  (FLAG_REF) whenever its refcount is above 1 (CPython gh-78274, gh-98819), equal
  constants may or may not be one shared object, and a string constant such as
  "{" may or may not be marked interned, all depending on what the process
  compiled before. Seen here: 3.12's ftplib.py differs when compiled twice in one
  process; 3.10's posixpath.py and 3.13's test files differ with the file order.
  So after py_compile the child rewrites the marshal stream from its value:
  every repeated immutable value written once and referenced after (FLAG_REF
  only on values actually referenced), ASCII strings marked interned exactly when
  made of name characters (as the compiler does; loading re-interns names anyway).
  The rewrite is checked (the whole stream decoded, `marshal.loads` of it equal to
  py_compile's, floats compared by bits); if the check fails the file keeps
  py_compile's bytes and is listed in `CompileResult.unstable`.
  Verified: the whole standard library of 3.9-3.13 gives identical bytes with
  one job forwards and two jobs backwards.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import json
import os
import posixpath
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lambdapack.errors import BuildError
from lambdapack.host.children import map_with_children
from lambdapack.host.cores import CORES
from lambdapack.host.interpreters import Interpreter
from lambdapack.host.processes import Group, Stopped, script
from lambdapack.staged import StagedFile

__all__ = [
    "BytecodeError",
    "CompileResult",
    "Compiler",
    "InvalidationMode",
    "compile_entries",
    "compile_with",
    "pyc_arcname",
]


class InvalidationMode(enum.Enum):
    """PEP 552 modes. Timestamp pycs are never produced: they cannot validate on Lambda."""

    UNCHECKED_HASH = "unchecked-hash"  # flags 0b01: trusted without reading the source
    CHECKED_HASH = "checked-hash"  # flags 0b11: source hashed at import, pyc used if equal


class BytecodeError(BuildError):
    """The target interpreter could not be run, or answered something unreadable."""


@dataclass(frozen=True)
class CompileResult:
    entries: list[StagedFile]
    failed: list[tuple[str, str]]  # (arcname, one-line error): skipped, not fatal
    # arcnames whose pyc kept py_compile's bytes because the marshal rewrite that
    # makes them reproducible could not be verified (valid pyc, maybe not stable)
    unstable: list[str] = field(default_factory=list)


def pyc_arcname(arcname: str, cache_tag: str) -> str:
    """`pkg/mod.py` -> `pkg/__pycache__/mod.cpython-312.pyc` (PEP 3147, as importlib looks it up)."""
    head, tail = posixpath.split(arcname)
    stem = tail[:-3] if tail.endswith(".py") else tail.rsplit(".", 1)[0]
    return posixpath.join(head, "__pycache__", f"{stem}.{cache_tag}.pyc")


# The child: scripts/compile_worker.py, run inside the target interpreter.
_WORKER = "compile_worker.py"


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "SOURCE_DATE_EPOCH"}
    env["PYTHONHASHSEED"] = "0"
    return env


@dataclass(frozen=True)
class _Job:
    src: str
    cfile: str
    dfile: str
    size: int


@dataclass
class _ChunkResult:
    failed: dict[int, str] = field(default_factory=dict)
    unstable: set[int] = field(default_factory=set)


class _Tally:
    """The compilers' progress: each child appends a byte per file to its own file in `root`;
    a thread sums the files' sizes ten times a second and passes the growth to `advance`."""

    def __init__(self, root: Path | None, advance: Callable[[int], None] | None) -> None:
        self.root, self.advance = root, advance
        self._names = itertools.count()
        self._counted = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def file(self) -> str | None:
        return None if self.root is None else str(self.root / f"{next(self._names)}")

    def __enter__(self) -> _Tally:
        if self.root is not None:
            self._thread = threading.Thread(target=self._poll, name="lambdapack-bytecode-tally", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._count()

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            self._count()

    def _count(self) -> None:
        assert self.root is not None and self.advance is not None
        try:
            # A stat of the file, not of its directory entry: on Windows that lags while it is open.
            done = sum(p.stat().st_size for p in self.root.iterdir())
        except OSError:
            return  # a file appearing or going away: counted on the next round
        if done > self._counted:
            self.advance(done - self._counted)
            self._counted = done


def _run_chunk(
    interpreter: Interpreter, jobs: list[tuple[int, _Job]], mode: InvalidationMode, cwd: Path,
    children: Group, tally: _Tally,
) -> _ChunkResult:
    payload = json.dumps({"mode": mode.name, "files": [[j.src, j.cfile, j.dfile] for _i, j in jobs],
                          "progress": tally.file()}).encode("ascii")
    argv = [interpreter.path, "-S", "-s", "-B", script(_WORKER)]
    # A core for the child's whole life, shared with every other build of this process (host/cores).
    with CORES.token(lambda: children.stopped):
        try:
            # py_compile starts nothing itself: the child needs no process group of its own.
            child = children.start(argv, stdin=True, env=_child_env(), cwd=cwd, own_group=False)
        except OSError as e:
            raise BytecodeError(f"cannot run {interpreter.path} to compile bytecode: {e}") from None
        try:
            stdout, stderr = child.communicate(payload)
        finally:
            children.forget(child)
    returncode = child.returncode if child.returncode is not None else -1
    if children.stopped:
        raise Stopped  # killed because the build is ending: not a crash to isolate
    if returncode != 0:
        if len(jobs) > 1:
            # A crash (say a C stack overflow on absurdly nested code) takes the
            # whole chunk down: split it to isolate the file responsible.
            mid = len(jobs) // 2
            a = _run_chunk(interpreter, jobs[:mid], mode, cwd, children, tally)
            b = _run_chunk(interpreter, jobs[mid:], mode, cwd, children, tally)
            return _ChunkResult({**a.failed, **b.failed}, a.unstable | b.unstable)
        err = stderr.decode("utf-8", "replace").strip().splitlines()
        last = err[-1] if err else f"exit status {returncode}"
        return _ChunkResult({jobs[0][0]: f"the interpreter failed: {last}"})
    try:
        answer = json.loads(stdout)
        failed = {jobs[i][0]: str(msg) for i, msg in answer["failed"]}
        unstable = {jobs[i][0] for i in answer["unstable"]}
    except (ValueError, KeyError, IndexError, TypeError):
        raise BytecodeError(
            f"{interpreter.path} answered something unreadable while compiling bytecode",
            stderr.decode("utf-8", "replace")[-2000:] or None,
        ) from None
    return _ChunkResult(failed, unstable)


def _chunks(items: list[tuple[int, _Job]], n: int) -> list[list[tuple[int, _Job]]]:
    """Split into n chunks of similar total source size (largest first, into the lightest)."""
    buckets: list[list[tuple[int, _Job]]] = [[] for _ in range(n)]
    weights = [0] * n
    for item in sorted(items, key=lambda it: (-it[1].size, it[0])):
        k = min(range(n), key=lambda b: (weights[b], b))
        buckets[k].append(item)
        weights[k] += item[1].size + 2048  # per-file overhead
    return [b for b in buckets if b]


@dataclass(frozen=True)
class Compiler:
    """How sources are compiled: the target's interpreter, each file's Lambda path, the mode
    and how many compilers run at once (None: one per core)."""

    interpreter: Interpreter
    lambda_root: Callable[[str], str]
    mode: InvalidationMode = InvalidationMode.UNCHECKED_HASH
    jobs: int | None = None


def compile_entries(
    entries: Sequence[StagedFile],
    interpreter: Interpreter,
    out_dir: Path,
    *,
    lambda_root: Callable[[str], str],
    mode: InvalidationMode = InvalidationMode.UNCHECKED_HASH,
    jobs: int | None = None,
) -> CompileResult:
    """Hash-based .pyc for every `.py` entry, written under `out_dir`.

    `interpreter` must be the target's minor version (its magic number goes into
    each file). `lambda_root(arcname)` is the file's absolute path on Lambda, e.g.
    `/var/task/pkg/mod.py`, compiled in as the code's file name. Returns one StagedFile
    per pyc (arcname `pkg/__pycache__/mod.cpython-3XY.pyc`, the source's
    distribution), in the order of the sources; a source that does not compile for
    the target is listed in `failed` and gets no pyc.
    """
    return compile_with(Compiler(interpreter, lambda_root, mode, jobs), entries, out_dir)


def compile_with(compiler: Compiler, entries: Sequence[StagedFile], out_dir: Path,
                 advance: Callable[[int], None] | None = None) -> CompileResult:
    """`compile_entries`; `advance(n)`: n more files done, as the compilers report them."""
    sources = [e for e in entries if e.arcname.endswith(".py")]
    if not sources:
        return CompileResult([], [])
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir.resolve()
    tag = compiler.interpreter.cache_tag
    seen: set[str] = set()
    work: list[tuple[int, _Job]] = []
    arcs: list[str] = []
    for i, e in enumerate(sources):
        if e.arcname in seen:
            raise ValueError(f"{e.arcname} is listed twice")
        seen.add(e.arcname)
        src = e.path.resolve()
        if src == out or out in src.parents:
            raise ValueError(f"the bytecode directory {out_dir} contains the source {e.path}")
        arc = pyc_arcname(e.arcname, tag)
        arcs.append(arc)
        work.append((i, _Job(str(src), str(out / arc), compiler.lambda_root(e.arcname), e.size)))
    failed, unstable = _run_all(compiler, work, out, advance)
    result_entries: list[StagedFile] = []
    for i, e in enumerate(sources):
        if i in failed:
            continue
        pyc = out / arcs[i]
        result_entries.append(StagedFile(arcs[i], pyc, False, pyc.stat().st_size, e.distribution))
    return CompileResult(
        entries=result_entries,
        failed=[(sources[i].arcname, failed[i]) for i in sorted(failed)],
        unstable=[sources[i].arcname for i in sorted(unstable) if i not in failed],
    )


def _run_all(compiler: Compiler, work: list[tuple[int, _Job]], out: Path,
             advance: Callable[[int], None] | None) -> tuple[dict[int, str], set[int]]:
    """Every job, in chunks of similar size on parallel compilers: (failed, unstable) by index."""
    n = max(1, min(compiler.jobs or os.cpu_count() or 1, len(work)))
    chunks = _chunks(work, n)
    failed: dict[int, str] = {}
    unstable: set[int] = set()
    # The main thread waits interruptibly: SIGTERM or Ctrl-C kills the compilers at once.
    children = Group()
    interpreter, mode = compiler.interpreter, compiler.mode
    with contextlib.ExitStack() as stack:
        root = None
        if advance is not None:
            # Beside the output directory, inside the build's work directory; removed after.
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix=".lambdapack-tally-", dir=out.parent, ignore_cleanup_errors=True)))
        tally = stack.enter_context(_Tally(root, advance))
        for res in map_with_children(lambda c: _run_chunk(interpreter, c, mode, out, children, tally), chunks,
                                     len(chunks), children):
            failed.update(res.failed)
            unstable |= res.unstable
    return failed, unstable
