"""Compile sources into hash-based .pyc and rewrite each marshal stream canonically.

Run by lambdapack's `bytecode` module inside the TARGET interpreter (3.9 and later: no
newer syntax or library here), as `python -S -s -B compile_worker.py`, with
PYTHONHASHSEED=0 (why, and why the rewrite: see the docstring of `lambdapack.assemble.bytecode`).
stdin: {"mode": ..., "files": [[src, cfile, dfile], ...]}
stdout: {"failed": [[i, msg], ...], "unstable": [i, ...]}
Imports nothing of lambdapack's: it runs outside its environment.
"""

from __future__ import annotations

import json
import marshal
import os
import py_compile
import re
import struct
import sys
from types import CodeType
from typing import Any

# Run by path, this script's directory is sys.path[0] (the working directory, the
# bytecode output, is not): nothing is to be imported from there either.
if sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):  # noqa: PTH120
    del sys.path[0]

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


def canonical(data: bytes) -> bytes:
    # Decode the marshal stream into a DAG of values, then write it again: every
    # repeated immutable value once, later occurrences as TYPE_REF, and FLAG_REF
    # only on values that are referenced. A pure function of the value.
    unpack = struct.unpack_from
    ids: dict[tuple[Any, ...], int] = {}
    nodes: list[tuple[Any, ...]] = []
    slots: list[int | None] = []
    # A frame: [type, items, ops still to read, slot]
    root: list[Any] = [0, [], [("o", 1)], None]
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
            key: tuple[Any, ...] = (t, tuple(fr[1]))
            if t in MUTABLE:
                key = (*key, len(nodes))
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
        slot: int | None = None
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
        end: int | None = None
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
        head: bytes | None
        sub: list[tuple[Any, ...]]
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
            raise ValueError(f"marshal type {chr(t)!r} at {pos - 1}")
        stack.append([t, [head] if head is not None else [], sub, slot])
    if pos != len(data) or len(root[1]) != 1 or not isinstance(root[1][0], int):
        raise ValueError("not one object")
    top: int = root[1][0]
    seen: set[int] = set()
    multi: set[int] = set()
    todo: list[Any] = [top]
    while todo:
        i = todo.pop()
        if i in seen:
            multi.add(i)
            continue
        seen.add(i)
        todo.extend(c for c in reversed(nodes[i][1]) if type(c) is int)
    out = bytearray()
    index: dict[int, int] = {}
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


def string_type(t: int, data: bytes, pos: int, end: int) -> int:
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


def same(a: Any, b: Any) -> bool:
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
    return bool(a == b)


def stabilise(cfile: str) -> bool:
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


def one_line(exc: BaseException) -> str:
    if isinstance(exc, py_compile.PyCompileError):
        exc = exc.exc_value
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return f"{type(exc).__name__}: {exc.msg}{where}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


def main() -> None:
    req = json.loads(sys.stdin.buffer.read())
    mode = py_compile.PycInvalidationMode[req["mode"]]
    failed: list[list[Any]] = []
    unstable: list[int] = []
    for i, (src, cfile, dfile) in enumerate(req["files"]):
        try:
            py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True, invalidation_mode=mode)
        except Exception as e:
            failed.append([i, one_line(e)])
            continue
        if not (KNOWN and stabilise(cfile)):
            unstable.append(i)
    sys.stdout.write(json.dumps({"failed": failed, "unstable": unstable}))


if __name__ == "__main__":
    main()
