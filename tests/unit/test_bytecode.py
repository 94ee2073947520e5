"""Hash-based bytecode for the target Python, checked by the target interpreter itself.

Every property is read back by running the target interpreter (its own
importlib.util.MAGIC_NUMBER, source_hash and marshal), never by our code.
Versions missing on this machine are skipped with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from host_pythons import need_interpreter

from lambdapack.assemble.bytecode import CompileResult, InvalidationMode, compile_entries, pyc_arcname
from lambdapack.assemble.stage import SourceOptions, source_entries
from lambdapack.host.interpreters import Interpreter
from lambdapack.staged import StagedFile

MINORS = [(3, m) for m in range(9, 15)]



def task_root(arcname: str) -> str:
    return "/var/task/" + arcname


def layer_root(arcname: str) -> str:
    return "/opt/" + arcname


MOD = '''\
"""A module with the constants that make marshal output fragile."""
KINDS = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}


def check(resp):
    if resp[:3] not in {"225", "226", "426", "250", "200"}:
        raise ValueError(resp)
    return [x * 2 for x in range(3)], 1.5, 2j, 10**40, b"bytes", ...


class Thing:
    def method(self):
        return lambda: __class__
'''


def make_tree(root: Path) -> None:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("from .mod import check\n")
    (root / "pkg" / "mod.py").write_text(MOD)
    (root / "pkg" / "sub" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "dotted.name.py").write_text("X = 1\n")
    (root / "handler.py").write_text(
        "# -*- coding: latin-1 -*-\nS = '\xe9'\ndef handler(e, c):\n    return S\n", encoding="latin-1"
    )
    (root / "py2.py").write_text('print "hello"\n')  # Python 2 test data: skipped, not fatal
    (root / "notes.txt").write_text("not python\n")


INSPECT = r"""
import importlib.util, json, marshal, sys
out = []
for pyc, src in json.load(sys.stdin):
    with open(pyc, "rb") as f:
        data = f.read()
    with open(src, "rb") as f:
        source = f.read()
    code = marshal.loads(data[16:])
    names = set()
    todo = [code]
    while todo:
        c = todo.pop()
        names.add(c.co_filename)
        todo += [k for k in c.co_consts if hasattr(k, "co_filename")]
    out.append({
        "magic": data[:4].hex(),
        "expected_magic": importlib.util.MAGIC_NUMBER.hex(),
        "flags": int.from_bytes(data[4:8], "little"),
        "hash": data[8:16].hex(),
        "source_hash": importlib.util.source_hash(source).hex(),
        "filenames": sorted(names),
    })
print(json.dumps(out))
"""


def inspect(interp: Interpreter, pairs: list[tuple[Path, Path]]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [interp.path, "-I", "-c", INSPECT],
        input=json.dumps([[str(a), str(b)] for a, b in pairs]),
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def digests(res: CompileResult) -> dict[str, str]:
    return {e.arcname: hashlib.sha256(e.path.read_bytes()).hexdigest() for e in res.entries}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mtime_ns, st.st_size)
    return out


def test_pyc_arcname() -> None:
    assert pyc_arcname("pkg/mod.py", "cpython-312") == "pkg/__pycache__/mod.cpython-312.pyc"
    assert pyc_arcname("mod.py", "cpython-39") == "__pycache__/mod.cpython-39.pyc"
    assert (
        pyc_arcname("python/pkg/__init__.py", "cpython-313")
        == "python/pkg/__pycache__/__init__.cpython-313.pyc"
    )
    # importlib keeps every dot but the last: a.b.py -> a.b.cpython-312.pyc
    assert pyc_arcname("pkg/a.b.py", "cpython-312") == "pkg/__pycache__/a.b.cpython-312.pyc"


def test_compile_tree_for_312(tmp_path: Path) -> None:
    interp = need_interpreter((3, 12))
    src = tmp_path / "src"
    make_tree(src)
    before = snapshot(src)
    entries = source_entries(src)
    entries = [
        StagedFile(e.arcname, e.path, e.executable, e.size, "demo 1.0" if e.arcname.startswith("pkg/") else None)
        for e in entries
    ]
    out = tmp_path / "out"
    res = compile_entries(entries, interp, out, lambda_root=task_root)

    assert snapshot(src) == before  # nothing written next to the sources
    assert [a for a, _m in res.failed] == ["py2.py"]
    assert res.failed[0][1].startswith("SyntaxError: ") and "(line 1)" in res.failed[0][1]
    assert res.unstable == []
    by_src = {e.arcname: e for e in entries}
    assert [e.arcname for e in res.entries] == [
        pyc_arcname(e.arcname, "cpython-312")
        for e in entries
        if e.arcname.endswith(".py") and e.arcname != "py2.py"
    ]
    pairs = []
    for e in res.entries:
        source = by_src[e.arcname.replace("__pycache__/", "").replace(".cpython-312.pyc", ".py")]
        assert e.path == out / e.arcname
        assert e.size == e.path.stat().st_size
        assert e.executable is False
        assert e.distribution == source.distribution
        pairs.append((e.path, source.path))
    for e, info in zip(res.entries, inspect(interp, pairs), strict=True):
        assert info["magic"] == info["expected_magic"], e.arcname
        assert info["flags"] == 0b01  # PEP 552: hash-based, check_source off
        assert info["hash"] == info["source_hash"]
        src_arc = e.arcname.replace("__pycache__/", "").replace(".cpython-312.pyc", ".py")
        assert info["filenames"] == [f"/var/task/{src_arc}"]  # nested code objects too


def test_checked_hash_and_layer_paths(tmp_path: Path) -> None:
    interp = need_interpreter((3, 12))
    src = tmp_path / "src"
    make_tree(src)
    entries = source_entries(src, SourceOptions(prefix="python/"))
    res = compile_entries(
        entries, interp, tmp_path / "out", lambda_root=layer_root, mode=InvalidationMode.CHECKED_HASH
    )
    assert res.entries and all(e.arcname.startswith("python/") for e in res.entries)
    mod = next(e for e in res.entries if e.arcname == "python/pkg/__pycache__/mod.cpython-312.pyc")
    [info] = inspect(interp, [(mod.path, src / "pkg" / "mod.py")])
    assert info["flags"] == 0b11  # hash-based, check_source on
    assert info["filenames"] == ["/opt/python/pkg/mod.py"]


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: f"{m[0]}.{m[1]}")
def test_every_target_version(minor: tuple[int, int], tmp_path: Path) -> None:
    interp = need_interpreter(minor)
    src = tmp_path / "src"
    make_tree(src)
    entries = [e for e in source_entries(src) if e.arcname != "py2.py"]
    res = compile_entries(entries, interp, tmp_path / "out", lambda_root=task_root)
    assert res.failed == [] and res.unstable == []
    tag = f"cpython-{minor[0]}{minor[1]}"
    assert all(e.arcname.endswith(f".{tag}.pyc") for e in res.entries)
    by_arc = {e.arcname: e for e in entries}
    pairs = [
        (e.path, by_arc[e.arcname.replace("__pycache__/", "").replace(f".{tag}.pyc", ".py")].path)
        for e in res.entries
    ]
    for info in inspect(interp, pairs):
        assert info["magic"] == info["expected_magic"]
        assert info["flags"] == 1
        assert info["hash"] == info["source_hash"]


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: f"{m[0]}.{m[1]}")
def test_same_bytes_across_processes_jobs_and_order(minor: tuple[int, int], tmp_path: Path) -> None:
    """Fresh processes (hash seed), 1 vs 2 jobs, and reversed order give identical pyc."""
    interp = need_interpreter(minor)
    src = tmp_path / "src"
    make_tree(src)
    entries = [e for e in source_entries(src) if e.arcname != "py2.py"]
    runs = [
        compile_entries(entries, interp, tmp_path / "a", lambda_root=task_root, jobs=1),
        compile_entries(entries, interp, tmp_path / "b", lambda_root=task_root, jobs=2),
        compile_entries(entries[::-1], interp, tmp_path / "c", lambda_root=task_root, jobs=1),
    ]
    assert digests(runs[0]) == digests(runs[1]) == digests(runs[2])


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: f"{m[0]}.{m[1]}")
def test_stable_when_compiled_after_other_files(minor: tuple[int, int], tmp_path: Path) -> None:
    """marshal's FLAG_REF follows reference counts (CPython gh-78274): 3.12 writes
    ftplib.py differently the second time one process compiles it. Ours must not."""
    interp = need_interpreter(minor)
    stdlib = subprocess.run(
        [interp.path, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ftplib = Path(stdlib) / "ftplib.py"
    if not ftplib.is_file():
        pytest.skip(f"no ftplib.py in {stdlib}")
    size = ftplib.stat().st_size
    a = StagedFile("a/ftplib.py", ftplib, False, size, None)
    b = StagedFile("b/ftplib.py", ftplib, False, size, None)
    first = compile_entries(
        [a, b], interp, tmp_path / "1", lambda_root=lambda _a: "/var/task/ftplib.py", jobs=1
    )
    second = compile_entries(
        [b, a], interp, tmp_path / "2", lambda_root=lambda _a: "/var/task/ftplib.py", jobs=1
    )
    assert first.unstable == [] and second.unstable == []
    blobs = {e.path.read_bytes() for e in first.entries + second.entries}
    assert len(blobs) == 1


def test_edge_cases(tmp_path: Path) -> None:
    interp = need_interpreter((3, 12))
    assert compile_entries([], interp, tmp_path / "none", lambda_root=task_root) == CompileResult([], [])
    assert not (tmp_path / "none").exists()  # nothing to do: no interpreter run, no folder
    src = tmp_path / "src"
    make_tree(src)
    entries = source_entries(src)
    with pytest.raises(ValueError, match="contains the source"):
        compile_entries(entries, interp, src, lambda_root=task_root)
    with pytest.raises(ValueError, match="listed twice"):
        compile_entries([entries[0], entries[0]], interp, tmp_path / "dup", lambda_root=task_root)
    # A source that is not UTF-8 and has no coding cookie; a null byte; more jobs than files.
    (src / "bad_enc.py").write_bytes(b"x = '\xff'\n")
    (src / "nul.py").write_bytes(b"x = 1\0\n")
    more = [e for e in source_entries(src) if e.arcname in ("bad_enc.py", "nul.py", "handler.py")]
    res = compile_entries(more, interp, tmp_path / "out", lambda_root=task_root, jobs=8)
    assert [e.arcname for e in res.entries] == ["__pycache__/handler.cpython-312.pyc"]
    assert sorted(a for a, _ in res.failed) == ["bad_enc.py", "nul.py"]
    assert all(msg and "\n" not in msg for _a, msg in res.failed)
