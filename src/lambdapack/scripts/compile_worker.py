"""Compile sources into hash-based .pyc and rewrite each marshal stream canonically.

Run by lambdapack's `bytecode` module inside the TARGET interpreter (3.9 and later: no
newer syntax or library here), as `python -S -s -B compile_worker.py`, with
PYTHONHASHSEED=0 (why, and why the rewrite: see the docstring of `lambdapack.assemble.bytecode`).
stdin: {"mode": ..., "files": [[src, cfile, dfile], ...], "progress": path or absent}
progress: one byte appended per file done (compiled or failed), for the parent's counter: a
file the parent polls, not a pipe, so stdout keeps its one answer and no pipe can fill up.
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
    """The marshal stream `data` written again as a pure function of its value.

    Decode it into a DAG of values, then write it again: every repeated immutable
    value once, later occurrences as TYPE_REF, and FLAG_REF only on values that are
    referenced.
    """
    nodes, top = Decoder(data).decode()
    return encode(nodes, top, shared(nodes, top))


class Decoder:
    """Reads a marshal stream into nodes (type, items), equal immutable values merged.

    Iterative, not recursive: deeply nested code must not hit the recursion limit.
    An item is an int (another node) or bytes (written as is). A frame on the stack
    is [type, items, ops still to read, slot]; an op is ("r", n) raw bytes,
    ("o", n) objects or ("d",) the rest of a dict.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.ids: dict[tuple[Any, ...], int] = {}
        self.nodes: list[tuple[Any, ...]] = []
        self.slots: list[int | None] = []  # FLAG_REF slots, in reading order, -> node
        self.root: list[Any] = [0, [], [("o", 1)], None]
        self.stack = [self.root]

    def decode(self) -> tuple[list[tuple[Any, ...]], int]:
        data, root, stack = self.data, self.root, self.stack
        while True:
            fr = stack[-1]
            ops = fr[2]
            if not ops:
                if fr is root:
                    break
                self.close(stack.pop())
                continue
            op = ops[-1]
            if op[0] == "r":
                ops.pop()
                fr[1].append(data[self.pos:self.pos + op[1]])
                self.pos += op[1]
            elif op[0] == "d":
                self.dict_step(fr, ops)
            else:
                if op[1] == 1:
                    ops.pop()
                else:
                    ops[-1] = ("o", op[1] - 1)
                self.read_object(fr)
        if self.pos != len(data) or len(root[1]) != 1 or not isinstance(root[1][0], int):
            raise ValueError("not one object")
        top: int = root[1][0]
        return self.nodes, top

    def intern(self, key: tuple[Any, ...], slot: int | None) -> int:
        """The node of `key`, made when new; a mutable's key ends in a unique number."""
        i = self.ids.get(key)
        if i is None:
            i = self.ids[key] = len(self.nodes)
            self.nodes.append(key[:2])
        if slot is not None:
            self.slots[slot] = i
        return i

    def close(self, fr: list[Any]) -> None:
        """A container read to its end becomes a node, an item of its parent."""
        t = fr[0]
        key: tuple[Any, ...] = (t, tuple(fr[1]))
        if t in MUTABLE:
            key = (*key, len(self.nodes))
        self.stack[-1][1].append(self.intern(key, fr[3]))

    def dict_step(self, fr: list[Any], ops: list[Any]) -> None:
        # A dict ends at a NULL ("0"); until then, read a key and a value.
        if self.data[self.pos] == 0x30:
            ops.pop()
            fr[1].append(b"0")
            self.pos += 1
        else:
            ops.append(("o", 2))

    def read_object(self, fr: list[Any]) -> None:
        """One object: a reference, a singleton, a scalar, or a container opened."""
        data = self.data
        b = data[self.pos]
        t = b & 0x7F
        self.pos += 1
        slot: int | None = None
        if b & 0x80:
            slot = len(self.slots)
            self.slots.append(None)
        if t == 0x72:  # r
            fr[1].append(self.reference(slot))
            return
        if t in SINGLETONS:
            if slot is not None:
                raise ValueError("flagged singleton")
            fr[1].append(bytes((t,)))
            return
        end = self.scalar_end(t)
        if end is None:
            self.open(t, slot)
            return
        if end > len(data):
            raise ValueError("truncated")
        if t in STRINGS:
            t = string_type(t, data, self.pos, end)
        key = (t, (data[self.pos:end],))
        self.pos = end
        fr[1].append(self.intern(key, slot))

    def reference(self, slot: int | None) -> int:
        if slot is not None:
            raise ValueError("flagged ref")
        k: int = struct.unpack_from("<I", self.data, self.pos)[0]
        self.pos += 4
        i = self.slots[k]
        if i is None:
            raise ValueError("reference to an unfinished object")
        return i

    def scalar_end(self, t: int) -> int | None:
        """Where the scalar of type `t` starting at pos ends; None: not a scalar."""
        data, pos = self.data, self.pos
        if t == 0x69:  # i
            return pos + 4
        if t == 0x67:  # g
            return pos + 8
        if t == 0x79:  # y
            return pos + 16
        if t == 0x6C:  # l
            n: int = struct.unpack_from("<i", data, pos)[0]
            return pos + 4 + 2 * abs(n)
        if t in (0x73, 0x74, 0x75, 0x61, 0x41):  # s t u a A
            size: int = struct.unpack_from("<I", data, pos)[0]
            return pos + 4 + size
        if t in (0x7A, 0x5A):  # z Z
            return pos + 1 + data[pos]
        return None

    def open(self, t: int, slot: int | None) -> None:
        """Push the frame of a container: its head bytes and the ops reading its items."""
        data, pos = self.data, self.pos
        head: bytes | None
        sub: list[tuple[Any, ...]]
        if t == 0x29:  # )
            k = data[pos]
            head, self.pos = data[pos:pos + 1], pos + 1
            sub = [("o", k)] if k else []
        elif t in (0x28, 0x5B, 0x3C, 0x3E):  # ( [ < >
            (k,) = struct.unpack_from("<I", data, pos)
            head, self.pos = data[pos:pos + 4], pos + 4
            sub = [("o", k)] if k else []
        elif t == 0x7B:  # {
            head, sub = None, [("d",)]
        elif t == 0x63:  # c
            head, sub = None, list(reversed(CODE_OPS))
        elif t == 0x3A and SLICES:  # : (3.14)
            head, sub = None, [("o", 3)]
        else:
            raise ValueError(f"marshal type {chr(t)!r} at {pos - 1}")
        self.stack.append([t, [head] if head is not None else [], sub, slot])


def shared(nodes: list[tuple[Any, ...]], top: int) -> set[int]:
    """The nodes reached more than once from `top`: the only ones given FLAG_REF."""
    seen: set[int] = set()
    multi: set[int] = set()
    todo: list[int] = [top]
    while todo:
        i = todo.pop()
        if i in seen:
            multi.add(i)
            continue
        seen.add(i)
        todo.extend(c for c in reversed(nodes[i][1]) if type(c) is int)
    return multi


def encode(nodes: list[tuple[Any, ...]], top: int, multi: set[int]) -> bytes:
    """Write the DAG depth first; a shared node is written once, then as TYPE_REF."""
    out = bytearray()
    index: dict[int, int] = {}
    todo: list[Any] = [top]
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


def compile_one(i: int, files: list[str], mode: py_compile.PycInvalidationMode,
                failed: list[list[Any]], unstable: list[int]) -> None:
    src, cfile, dfile = files
    try:
        py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True, invalidation_mode=mode)
    except Exception as e:
        failed.append([i, one_line(e)])
        return
    if not (KNOWN and stabilise(cfile)):
        unstable.append(i)


def main() -> None:
    req = json.loads(sys.stdin.buffer.read())
    mode = py_compile.PycInvalidationMode[req["mode"]]
    failed: list[list[Any]] = []
    unstable: list[int] = []
    with open(req.get("progress") or os.devnull, "ab", buffering=0) as tally:
        for i, files in enumerate(req["files"]):
            compile_one(i, files, mode, failed, unstable)
            tally.write(b".")
    sys.stdout.write(json.dumps({"failed": failed, "unstable": unstable}))


if __name__ == "__main__":
    main()
