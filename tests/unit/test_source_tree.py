"""lambdapack.assemble.stage.source_entries: the source-tree policy, on real trees with real links.

Links inside SRC_DIR ship as their target's content; links leaving it are an InputError
naming the link and its target (or, with follow_external_links, ship with a note each);
dangling links and link cycles are skipped with a note. Special files (FIFOs, sockets)
are in tests/integration/test_source_policy.py, where a hang is bounded by a timeout.
"""

from __future__ import annotations

import os
import stat
import sys
import zipfile
from pathlib import Path

import pytest

from lambdapack.assemble.stage import SourceOptions, source_entries
from lambdapack.errors import InputError
from lambdapack.pack.zipwriter import write_zip


def _link(link: Path, target: str | Path, *, directory: bool = False) -> None:
    try:
        link.symlink_to(target, target_is_directory=directory)
    except OSError as e:  # Windows without the privilege to create links
        pytest.skip(f"cannot create symlinks here: {e}")


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    """A source tree and, beside it, a "home" with a fake AWS credentials file."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = AKIAZ3JQWERTYUIOPL12\n")
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return 1\n")
    (src / "pkg" / "__init__.py").write_text("X = 1\n")
    return src, home


def test_links_inside_the_tree_ship_as_content(tmp_path: Path) -> None:
    src, _home = _tree(tmp_path)
    _link(src / "alias.py", "lambda_function.py")
    _link(src / "chain.py", "alias.py")  # a chain that stays inside
    _link(src / "lib", "pkg", directory=True)
    notes: list[str] = []
    entries = source_entries(src, notes=notes)
    by = {e.arcname: e for e in entries}
    assert sorted(by) == ["alias.py", "chain.py", "lambda_function.py", "lib/__init__.py", "pkg/__init__.py"]
    assert notes == []
    assert by["alias.py"].path.read_bytes() == (src / "lambda_function.py").read_bytes()
    art = tmp_path / "o.zip"
    write_zip(entries, art, environ={})
    with zipfile.ZipFile(art) as zf:
        for info in zf.infolist():
            assert not stat.S_ISLNK(info.external_attr >> 16), f"{info.filename} is a link entry"
        assert zf.read("chain.py") == zf.read("lambda_function.py")
        assert zf.read("lib/__init__.py") == b"X = 1\n"


def test_link_cycles_end_with_a_note(tmp_path: Path) -> None:
    src, _home = _tree(tmp_path)
    _link(src / "pkg" / "up", "..", directory=True)  # the tree inside itself
    (src / "a").mkdir()
    (src / "b").mkdir()
    (src / "a" / "m.py").write_text("")
    (src / "b" / "n.py").write_text("")
    _link(src / "a" / "to_b", "../b", directory=True)  # a -> b -> a -> ...
    _link(src / "b" / "to_a", "../a", directory=True)
    _link(src / "loop1", "loop2")
    _link(src / "loop2", "loop1")
    notes: list[str] = []
    names = [e.arcname for e in source_entries(src, notes=notes)]
    assert sorted(names) == ["a/m.py", "a/to_b/n.py", "b/n.py", "b/to_a/m.py", "lambda_function.py",
                             "pkg/__init__.py"]
    cycles = sorted(n.split(":")[0] for n in notes if "link cycle" in n)
    assert cycles == ["a/to_b/to_a", "b/to_a/to_b", "pkg/up"], notes
    assert sorted(n.split(":")[0] for n in notes if "does not resolve" in n) == ["loop1", "loop2"]


def test_links_leaving_the_tree_are_an_error_naming_link_and_target(tmp_path: Path) -> None:
    src, home = _tree(tmp_path)
    _link(src / "settings.ini", home / ".aws" / "credentials")  # absolute target
    _link(src / "pkg" / "conf", Path("..") / ".." / "home" / ".aws", directory=True)  # relative, via ..
    out = tmp_path / "out.zip"
    with pytest.raises(InputError) as e:
        source_entries(src, SourceOptions(skip_paths=[out]))
    msg = e.value.message
    assert msg == (f"settings.ini in {src} is a symlink to {home / '.aws' / 'credentials'}, outside the source "
                   f"directory (and 1 more: pkg/conf -> {home / '.aws'})")
    assert e.value.hint is not None and "--follow-external-links" in e.value.hint
    assert e.value.exit_code == 2


def test_a_chain_of_links_that_ends_outside_is_outside(tmp_path: Path) -> None:
    src, home = _tree(tmp_path)
    _link(tmp_path / "hop", home / ".aws" / "credentials")
    _link(src / "inner.ini", "outer.ini")
    _link(src / "outer.ini", Path("..") / "hop")
    with pytest.raises(InputError) as e:
        source_entries(src)
    assert f"is a symlink to {home / '.aws' / 'credentials'}" in e.value.message
    assert e.value.message.startswith("inner.ini in ")


def test_follow_external_links_ships_them_with_a_note_per_file(tmp_path: Path) -> None:
    src, home = _tree(tmp_path)
    (home / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    _link(src / "settings.ini", home / ".aws" / "credentials")
    _link(src / "conf", home / ".aws", directory=True)
    notes: list[str] = []
    by = {e.arcname: e for e in source_entries(src, SourceOptions(follow_external_links=True), notes=notes)}
    assert {"settings.ini", "conf/credentials", "conf/config"} <= set(by)
    assert by["conf/config"].path.read_text() == "[default]\nregion = eu-west-1\n"
    outside = sorted(n.split(":")[0] for n in notes if "outside the source directory" in n)
    assert outside == ["conf/config", "conf/credentials", "settings.ini"]
    assert any(str(home / ".aws" / "credentials") in n for n in notes)


def test_excluded_links_are_not_followed_or_judged(tmp_path: Path) -> None:
    """A `.venv -> /usr` or `node_modules -> ~/cache` is excluded by name before it is resolved."""
    src, home = _tree(tmp_path)
    _link(src / ".venv", home, directory=True)
    _link(src / "node_modules", home, directory=True)
    assert sorted(e.arcname for e in source_entries(src)) == ["lambda_function.py", "pkg/__init__.py"]


def test_dangling_link_is_skipped_with_a_note(tmp_path: Path) -> None:
    src, _home = _tree(tmp_path)
    _link(src / "gone.py", "nowhere.py")
    notes: list[str] = []
    assert "gone.py" not in {e.arcname for e in source_entries(src, notes=notes)}
    assert notes == ["gone.py: skipped, a symlink to nowhere.py that does not resolve (dangling, or a link loop)"]


def test_skip_paths_are_skipped_through_links_too(tmp_path: Path) -> None:
    src, _home = _tree(tmp_path)
    (src / "dist").mkdir()
    (src / "dist" / "function.zip").write_bytes(b"PK")
    _link(src / "latest", "dist", directory=True)
    names = {e.arcname for e in source_entries(src, SourceOptions(skip_paths=[src / "dist"]))}
    assert names == {"lambda_function.py", "pkg/__init__.py"}
    out = tmp_path / "out.zip"  # the output, outside the tree, reached through a link: skipped, not an error
    out.write_bytes(b"PK")
    _link(src / "last.zip", out)
    names = {e.arcname for e in source_entries(src, SourceOptions(skip_paths=[src / "dist", out]))}
    assert names == {"lambda_function.py", "pkg/__init__.py"}


def test_order_is_the_sorted_top_down_walk(tmp_path: Path) -> None:
    src = tmp_path / "s"
    for rel in ("b.py", "a/z.py", "a/b/c.py", "A.py", "c/x.py"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("")
    assert [e.arcname for e in source_entries(src)] == ["A.py", "b.py", "a/z.py", "a/b/c.py", "c/x.py"]


@pytest.mark.skipif(sys.platform == "win32", reason="builds the tree with relative mkdir/chdir (POSIX PATH_MAX)")
def test_path_longer_than_path_max_is_an_input_error(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "lambda_function.py").write_text("")
    fd = os.open(src, os.O_RDONLY)
    try:
        for _ in range(30):  # 30 x 200 characters: over Linux's 4096 and macOS's 1024
            os.mkdir("d" * 200, dir_fd=fd)
            new = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
        os.close(os.open("deep.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    with pytest.raises(InputError) as e:
        source_entries(src)
    assert "is longer than this system allows" in e.value.message
    assert e.value.message.startswith(f"source path {src}")
    assert "characters)" in e.value.message  # shortened, with its length
    assert e.value.hint is not None and "--exclude" in e.value.hint
