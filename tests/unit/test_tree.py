"""pack/tree.py: the unpacked tree's writers, its atomic swap, and the refusal rules."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from lambdapack.errors import LambdapackError
from lambdapack.pack.tree import (
    atomic_tree,
    check_tree_writable,
    tree_conflict,
    tree_from_staged,
    tree_from_zip,
    tree_matches_zip,
)
from lambdapack.pack.zipwriter import write_zip
from lambdapack.staged import StagedFile


def _staged(root: Path, name: str, data: bytes, executable: bool = False) -> StagedFile:
    p = root / "files" / name.replace("/", "_")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return StagedFile(name, p, executable, len(data), None)


def _files(tree: Path) -> dict[str, bytes]:
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()}


def test_staged_tree_keeps_the_first_of_each_name_as_the_zip_does(tmp_path: Path) -> None:
    entries = [_staged(tmp_path, "a/b/c.py", b"first"), _staged(tmp_path, "bootstrap", b"#!/bin/sh\n", True),
               StagedFile("a/b/c.py", tmp_path / "files" / "bootstrap", False, 10, None)]
    zip_path = write_zip(entries, tmp_path / "out.zip").path
    tree = tmp_path / "tree"
    tree.mkdir()
    assert tree_from_staged(entries, tree) == 2
    with zipfile.ZipFile(zip_path) as zf:
        assert _files(tree) == {n: zf.read(n) for n in zf.namelist()}
    if os.name != "nt":
        assert stat.S_IMODE((tree / "bootstrap").stat().st_mode) == 0o755
        assert stat.S_IMODE((tree / "a/b/c.py").stat().st_mode) == 0o644


def test_zip_tree_has_the_zip_modes(tmp_path: Path) -> None:
    entries = [_staged(tmp_path, "bin/tool", b"x" * 3000, True), _staged(tmp_path, "m.py", b"y = 1\n")]
    zip_path = write_zip(entries, tmp_path / "out.zip").path
    tree = tmp_path / "tree"
    tree.mkdir()
    assert tree_from_zip(zip_path, tree) == 2
    assert _files(tree) == {"bin/tool": b"x" * 3000, "m.py": b"y = 1\n"}
    if os.name != "nt":
        assert stat.S_IMODE((tree / "bin/tool").stat().st_mode) == 0o755
        assert stat.S_IMODE((tree / "m.py").stat().st_mode) == 0o644


@pytest.mark.parametrize("name", ["../escape.py", "/abs.py", "a/../../x"])
def test_zip_tree_refuses_names_outside(tmp_path: Path, name: str) -> None:
    zip_path = tmp_path / "evil.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr(name, b"x")
    tree = tmp_path / "sub" / "tree"
    tree.mkdir(parents=True)
    with pytest.raises(LambdapackError) as e:
        tree_from_zip(zip_path, tree)
    assert e.value.exit_code == 1 and "--no-cache" in (e.value.hint or "")
    assert not (tmp_path / "sub" / "escape.py").exists() and not (tmp_path / "x").exists()


def test_atomic_tree_replaces_a_non_empty_directory(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    (dest / "old").mkdir(parents=True)
    (dest / "old" / "f").write_text("old")
    with atomic_tree(dest) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".lambdapack-dest.")
        (tmp / "new").write_text("new")
        assert (dest / "old" / "f").exists()  # nothing changes before the block ends
    assert _files(dest) == {"new": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]


def test_atomic_tree_failure_leaves_dest_as_it_was(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep").write_text("keep")
    with pytest.raises(RuntimeError), atomic_tree(dest) as tmp:
        (tmp / "half").write_text("half")
        raise RuntimeError("interrupted")
    assert _files(dest) == {"keep": b"keep"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]


def test_atomic_tree_creates_missing_parents(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b" / "dest"
    with atomic_tree(dest) as tmp:
        (tmp / "f").write_text("x")
    assert _files(dest) == {"f": b"x"}


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_atomic_tree_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    with atomic_tree(tmp_path / "link") as tmp:
        (tmp / "f").write_text("x")
    assert (tmp_path / "link").is_symlink()
    assert _files(real) == {"f": b"x"}


def test_check_tree_writable_refuses_a_file_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("mine")
    with pytest.raises(LambdapackError) as e:
        check_tree_writable(tmp_path / "file")
    assert e.value.exit_code == 2 and "--output-dir" in (e.value.hint or "")
    check_tree_writable(tmp_path / "new" / "deeper")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_tree_conflict(tmp_path: Path) -> None:
    src = tmp_path / "proj" / "src"
    src.mkdir(parents=True)
    zip_path = tmp_path / "out" / "fn.zip"
    protected = [("the zip output", zip_path), ("the home directory", tmp_path / "home")]
    assert tree_conflict(tmp_path / "tree", src, protected) is None
    assert tree_conflict(tmp_path / "proj" / "tree", src, protected) is None  # a sibling of the source
    assert "source tree" in (tree_conflict(src, src, protected) or "")
    assert "source tree" in (tree_conflict(tmp_path / "proj", src, protected) or "")
    assert "inside the source tree" in (tree_conflict(src / "build", src, protected) or "")
    assert "zip output" in (tree_conflict(tmp_path / "out", src, protected) or "")
    assert "home directory" in (tree_conflict(tmp_path / "home", None, protected) or "")
    assert tree_conflict(tmp_path / "home" / "tree", None, protected) is None


def test_tree_matches_zip_only_when_exactly_the_members(tmp_path: Path) -> None:
    entries = [_staged(tmp_path, "bin/tool", b"x" * 3000, True), _staged(tmp_path, "pkg/sub/m.py", b"y = 1\n")]
    zip_path = write_zip(entries, tmp_path / "out.zip").path
    tree = tmp_path / "tree"
    assert not tree_matches_zip(zip_path, tree)  # missing
    tree.mkdir()
    assert not tree_matches_zip(zip_path, tree)  # empty (what SAM hands over)
    tree_from_zip(zip_path, tree)
    assert tree_matches_zip(zip_path, tree)
    (tree / "pkg" / "sub" / "m.py").write_bytes(b"y = 2\n")  # same size, other bytes
    assert not tree_matches_zip(zip_path, tree)
    (tree / "pkg" / "sub" / "m.py").write_bytes(b"y = 1\n")
    (tree / "pkg" / "sub" / "m.py").chmod(0o644)
    assert tree_matches_zip(zip_path, tree)
    (tree / "extra").mkdir()
    assert not tree_matches_zip(zip_path, tree)  # an extra directory is something extra
    (tree / "extra").rmdir()
    if os.name != "nt":
        (tree / "bin" / "tool").chmod(0o644)
        assert not tree_matches_zip(zip_path, tree)
