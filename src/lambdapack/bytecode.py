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
  and drops the script directory from sys.path itself.
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

import enum
import json
import os
import posixpath
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .children import Children, Stopped, map_with_children
from .errors import BuildError
from .interpreters import Interpreter
from .stage import Entry

__all__ = [
    "BytecodeError",
    "CompileResult",
    "InvalidationMode",
    "compile_entries",
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
    entries: list[Entry]
    failed: list[tuple[str, str]]  # (arcname, one-line error): skipped, not fatal
    # arcnames whose pyc kept py_compile's bytes because the marshal rewrite that
    # makes them reproducible could not be verified (valid pyc, maybe not stable)
    unstable: list[str] = field(default_factory=list)


def pyc_arcname(arcname: str, cache_tag: str) -> str:
    """`pkg/mod.py` -> `pkg/__pycache__/mod.cpython-312.pyc` (PEP 3147, as importlib looks it up)."""
    head, tail = posixpath.split(arcname)
    stem = tail[:-3] if tail.endswith(".py") else tail.rsplit(".", 1)[0]
    return posixpath.join(head, "__pycache__", f"{stem}.{cache_tag}.pyc")


# Runs inside the target interpreter (3.9 and later: no newer syntax here).
# stdin: {"mode": ..., "files": [[src, cfile, dfile], ...]}
# stdout: {"failed": [[i, msg], ...], "unstable": [i, ...]}
_CHILD = r"""
import sys
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]
import json, marshal, py_compile, re, struct
from types import CodeType

def canonical(data):
    # Decode the marshal stream into a DAG of values, then write it again: every
    # repeated immutable value once, later occurrences as TYPE_REF, and FLAG_REF
    # only on values that are referenced. A pure function of the value.
    unpack = struct.unpack_from
    ids = {}
    nodes = []
    slots = []
    root = [0, [], [("o", 1)], None]
    stack = [root]
    pos = 0
    while True:
        fr = stack[-1]
        ops = fr[2]
        if not ops:
            if fr is root:
                break
            stack.pop()
            t = fr[0]
            key = (t, tuple(fr[1]))
            if t in MUTABLE:
                key = key + (len(nodes),)
            i = ids.get(key)
            if i is None:
                i = ids[key] = len(nodes)
                nodes.append(key[:2])
            if fr[3] is not None:
                slots[fr[3]] = i
            stack[-1][1].append(i)
            continue
        op = ops[-1]
        if op[0] == "r":
            ops.pop()
            fr[1].append(data[pos:pos + op[1]])
            pos += op[1]
            continue
        if op[0] == "d":
            if data[pos] == 0x30:
                ops.pop()
                fr[1].append(b"0")
                pos += 1
            else:
                ops.append(("o", 2))
            continue
        if op[1] == 1:
            ops.pop()
        else:
            ops[-1] = ("o", op[1] - 1)
        b = data[pos]
        t = b & 0x7F
        pos += 1
        slot = None
        if b & 0x80:
            slot = len(slots)
            slots.append(None)
        if t == 0x72:  # r
            if slot is not None:
                raise ValueError("flagged ref")
            (k,) = unpack("<I", data, pos)
            pos += 4
            i = slots[k]
            if i is None:
                raise ValueError("reference to an unfinished object")
            fr[1].append(i)
            continue
        if t in SINGLETONS:
            if slot is not None:
                raise ValueError("flagged singleton")
            fr[1].append(bytes((t,)))
            continue
        end = None
        if t == 0x69:  # i
            end = pos + 4
        elif t == 0x67:  # g
            end = pos + 8
        elif t == 0x79:  # y
            end = pos + 16
        elif t == 0x6C:  # l
            (k,) = unpack("<i", data, pos)
            end = pos + 4 + 2 * abs(k)
        elif t in (0x73, 0x74, 0x75, 0x61, 0x41):  # s t u a A
            (k,) = unpack("<I", data, pos)
            end = pos + 4 + k
        elif t in (0x7A, 0x5A):  # z Z
            end = pos + 1 + data[pos]
        if end is not None:
            if end > len(data):
                raise ValueError("truncated")
            if t in STRINGS:
                t = string_type(t, data, pos, end)
            key = (t, (data[pos:end],))
            pos = end
            i = ids.get(key)
            if i is None:
                i = ids[key] = len(nodes)
                nodes.append(key)
            if slot is not None:
                slots[slot] = i
            fr[1].append(i)
            continue
        if t == 0x29:  # )
            k = data[pos]
            head, pos = data[pos:pos + 1], pos + 1
            sub = [("o", k)] if k else []
        elif t in (0x28, 0x5B, 0x3C, 0x3E):  # ( [ < >
            (k,) = unpack("<I", data, pos)
            head, pos = data[pos:pos + 4], pos + 4
            sub = [("o", k)] if k else []
        elif t == 0x7B:  # {
            head, sub = None, [("d",)]
        elif t == 0x63:  # c
            head, sub = None, list(reversed(CODE_OPS))
        elif t == 0x3A and SLICES:  # : (3.14)
            head, sub = None, [("o", 3)]
        else:
            raise ValueError("marshal type %r at %d" % (chr(t), pos - 1))
        stack.append([t, [head] if head is not None else [], sub, slot])
    if pos != len(data) or len(root[1]) != 1 or not isinstance(root[1][0], int):
        raise ValueError("not one object")
    top = root[1][0]
    seen = set()
    multi = set()
    todo = [top]
    while todo:
        i = todo.pop()
        if i in seen:
            multi.add(i)
            continue
        seen.add(i)
        todo.extend(c for c in reversed(nodes[i][1]) if type(c) is int)
    out = bytearray()
    index = {}
    todo = [top]
    pack = struct.pack
    while todo:
        x = todo.pop()
        if type(x) is bytes:
            out += x
            continue
        if x in index:
            out += b"r" + pack("<I", index[x])
            continue
        t, items = nodes[x]
        if x in multi:
            index[x] = len(index)
            out.append(t | 0x80)
        else:
            out.append(t)
        todo.extend(reversed(items))
    return bytes(out)

def string_type(t, data, pos, end):
    # Whether marshal marks a string "interned" depends on the process (a string
    # interned earlier for another reason), so decide it from the value: like the
    # compiler, intern what consists of name characters (or is an identifier).
    # Loading interns names again anyway; only speed could depend on this.
    if t in (0x7A, 0x5A):  # z Z
        return 0x5A if NAME_CHARS(data[pos + 1:end]) else 0x7A
    if t in (0x61, 0x41):  # a A
        return 0x41 if NAME_CHARS(data[pos + 4:end]) else 0x61
    text = data[pos + 4:end].decode("utf-8", "surrogatepass")  # u t
    return 0x74 if text.isidentifier() else 0x75

def same(a, b):
    # == on values, but floats compared by their bits (a NaN constant is not == itself).
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return struct.pack("<d", a) == struct.pack("<d", b)
    if type(a) is complex:
        return same(a.real, b.real) and same(a.imag, b.imag)
    if type(a) is tuple:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is frozenset:
        return a == b or sorted(map(repr, a)) == sorted(map(repr, b))
    if type(a) is CodeType:
        attrs = [n for n in dir(a) if n.startswith("co_") and n != "co_lnotab"]
        return all(callable(getattr(a, n)) or same(getattr(a, n), getattr(b, n)) for n in attrs)
    return a == b

def stabilise(cfile):
    with open(cfile, "rb") as f:
        data = f.read()
    try:
        body = canonical(data[16:])
        new, old = marshal.loads(body), marshal.loads(data[16:])
        if new != old and not same(new, old):
            raise ValueError("not equal")
    except Exception:
        return False
    if body != data[16:]:
        with open(cfile, "wb") as f:
            f.write(data[:16] + body)
    return True

def one_line(exc):
    if isinstance(exc, py_compile.PyCompileError):
        exc = exc.exc_value
    if isinstance(exc, SyntaxError):
        where = " (line %s)" % exc.lineno if exc.lineno else ""
        return "%s: %s%s" % (type(exc).__name__, exc.msg, where)
    text = str(exc).strip().splitlines()
    return "%s: %s" % (type(exc).__name__, text[-1] if text else "")

v = sys.version_info[:2]
if v < (3, 11):
    CODE_OPS = [("r", 24), ("o", 8), ("r", 4), ("o", 1)]
else:
    CODE_OPS = [("r", 20), ("o", 8), ("r", 4), ("o", 2)]
SLICES = v >= (3, 14)
SINGLETONS = frozenset(b"0NFTS.")
STRINGS = frozenset(b"zZaAut")
NAME_CHARS = re.compile(rb"[A-Za-z0-9_]*").fullmatch
MUTABLE = frozenset(b"[{<")
KNOWN = v <= (3, 14)

req = json.loads(sys.stdin.buffer.read())
mode = py_compile.PycInvalidationMode[req["mode"]]
failed = []
unstable = []
for i, (src, cfile, dfile) in enumerate(req["files"]):
    try:
        py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True, invalidation_mode=mode)
    except Exception as e:
        failed.append([i, one_line(e)])
        continue
    if not (KNOWN and stabilise(cfile)):
        unstable.append(i)
sys.stdout.write(json.dumps({"failed": failed, "unstable": unstable}))
"""


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


def _run_chunk(
    interpreter: Interpreter, jobs: list[tuple[int, _Job]], mode: InvalidationMode, cwd: Path,
    children: Children,
) -> _ChunkResult:
    payload = json.dumps({"mode": mode.name, "files": [[j.src, j.cfile, j.dfile] for _i, j in jobs]}).encode(
        "ascii"
    )
    argv = [interpreter.path, "-S", "-s", "-B", "-c", _CHILD]
    try:
        # py_compile starts nothing itself: the child needs no process group of its own.
        child = children.start(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=_child_env(), cwd=cwd)
    except OSError as e:
        raise BytecodeError(f"cannot run {interpreter.path} to compile bytecode: {e}") from None
    try:
        stdout, stderr = child.communicate(payload)
    finally:
        children.forget(child)
    proc = subprocess.CompletedProcess(argv, child.returncode, stdout, stderr)
    if children.stopped:
        raise Stopped  # killed because the build is ending: not a crash to isolate
    if proc.returncode != 0:
        if len(jobs) > 1:
            # A crash (say a C stack overflow on absurdly nested code) takes the
            # whole chunk down: split it to isolate the file responsible.
            mid = len(jobs) // 2
            a = _run_chunk(interpreter, jobs[:mid], mode, cwd, children)
            b = _run_chunk(interpreter, jobs[mid:], mode, cwd, children)
            return _ChunkResult({**a.failed, **b.failed}, a.unstable | b.unstable)
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        last = err[-1] if err else f"exit status {proc.returncode}"
        return _ChunkResult({jobs[0][0]: f"the interpreter failed: {last}"})
    try:
        answer = json.loads(proc.stdout)
        failed = {jobs[i][0]: str(msg) for i, msg in answer["failed"]}
        unstable = {jobs[i][0] for i in answer["unstable"]}
    except (ValueError, KeyError, IndexError, TypeError):
        raise BytecodeError(
            f"{interpreter.path} answered something unreadable while compiling bytecode",
            proc.stderr.decode("utf-8", "replace")[-2000:] or None,
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


def compile_entries(
    entries: Sequence[Entry],
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
    `/var/task/pkg/mod.py`, compiled in as the code's file name. Returns one Entry
    per pyc (arcname `pkg/__pycache__/mod.cpython-3XY.pyc`, the source's
    distribution), in the order of the sources; a source that does not compile for
    the target is listed in `failed` and gets no pyc.
    """
    sources = [e for e in entries if e.arcname.endswith(".py")]
    if not sources:
        return CompileResult([], [])
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir.resolve()
    tag = interpreter.cache_tag
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
        work.append((i, _Job(str(src), str(out / arc), lambda_root(e.arcname), e.size)))
    n = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    chunks = _chunks(work, n)
    failed: dict[int, str] = {}
    unstable: set[int] = set()
    # The main thread waits interruptibly: SIGTERM or Ctrl-C kills the compilers at once.
    children = Children()
    for res in map_with_children(lambda c: _run_chunk(interpreter, c, mode, out, children), chunks,
                                 len(chunks), children):
        failed.update(res.failed)
        unstable |= res.unstable
    result_entries: list[Entry] = []
    for i, e in enumerate(sources):
        if i in failed:
            continue
        pyc = out / arcs[i]
        result_entries.append(Entry(arcs[i], pyc, False, pyc.stat().st_size, e.distribution))
    return CompileResult(
        entries=result_entries,
        failed=[(sources[i].arcname, failed[i]) for i in sorted(failed)],
        unstable=[sources[i].arcname for i in sorted(unstable) if i not in failed],
    )
