"""`lambdapack build --output-dir DIR`: the artifact also as an unpacked tree.

Real builds in their own processes, offline (a source tree without dependencies). The tree is
compared with the zip read by `zipfile` (not by lambdapack): the same names, the same bytes,
the exec bit where the zip's external attributes have it, nothing more.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from lp_helpers import assert_no_outputs, clean_env, lp_build_json, run_lp
from test_check_output import assert_valid, build_validator

TARGET = ["--runtime", "python3.12", "--arch", "x86_64"]


def _source(root: Path) -> Path:
    src = root / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "lambda_function.py").write_text("import pkg\n\ndef lambda_handler(e, c):\n    return pkg.X\n")
    (src / "pkg" / "__init__.py").write_text("X = 1\n")
    tool = src / "bin" / "tool.sh"
    tool.parent.mkdir()
    tool.write_bytes(b"#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    return src


def _tree_files(tree: Path) -> dict[str, Path]:
    return {p.relative_to(tree).as_posix(): p for p in tree.rglob("*") if p.is_file()}


def assert_tree_is_zip(tree: Path, zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as zf:
        members = {i.filename: i for i in zf.infolist()}
        files = _tree_files(tree)
        assert sorted(files) == sorted(members)
        for name, info in members.items():
            assert files[name].read_bytes() == zf.read(name), name
            if os.name != "nt":
                zip_mode = (info.external_attr >> 16) & 0o777
                assert stat.S_IMODE(files[name].stat().st_mode) == zip_mode, name
    return len(members)


def test_tree_matches_zip_and_is_in_the_json(tmp_path: Path) -> None:
    src = _source(tmp_path)
    out, tree = tmp_path / "dist" / "fn.zip", tmp_path / "tree"
    _r, data = lp_build_json(["build", str(src), *TARGET, "-o", str(out), "--output-dir", str(tree)])
    assert_valid(build_validator(), data)
    assert data["outputs"][0]["tree"] == str(tree)
    assert data["outputs"][0]["path"] == str(out)
    n = assert_tree_is_zip(tree, out)
    assert n == data["outputs"][0]["files"]
    assert "bin/tool.sh" in _tree_files(tree)
    if os.name != "nt":
        assert os.access(tree / "bin" / "tool.sh", os.X_OK)
        assert not os.access(tree / "lambda_function.py", os.X_OK)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lambdapack-")] == []


def test_no_change_rebuild_replaces_the_old_tree(tmp_path: Path) -> None:
    src = _source(tmp_path)
    out, tree = tmp_path / "fn.zip", tmp_path / "tree"
    env = clean_env({"LAMBDAPACK_CACHE_DIR": str(tmp_path / "cache")})
    args = ["build", str(src), *TARGET, "-o", str(out), "--output-dir", str(tree)]
    lp_build_json(args, env=env)
    (tree / "stale.txt").write_text("from an older build")
    (tree / "lambda_function.py").write_text("edited in the tree")
    (tree / "pkg" / "__init__.py").unlink()
    r, data = lp_build_json(args, env=env)
    assert data["cached"] is True, r.explain()
    assert data["outputs"][0]["tree"] == str(tree)
    assert_valid(build_validator(), data)
    assert_tree_is_zip(tree, out)
    assert (tree / "lambda_function.py").read_text() == (src / "lambda_function.py").read_text()
    # An intact tree is checked, not rewritten: its files stay the same files.
    inode = (tree / "lambda_function.py").stat().st_ino
    r, data = lp_build_json(args, env=env)
    assert data["cached"] is True, r.explain()
    assert (tree / "lambda_function.py").stat().st_ino == inode
    assert_tree_is_zip(tree, out)


def test_existing_directory_is_replaced_and_text_says_so(tmp_path: Path) -> None:
    src = _source(tmp_path)
    tree = tmp_path / "artifacts"
    (tree / "old").mkdir(parents=True)
    (tree / "old" / "file.py").write_text("x")
    r = run_lp(["build", str(src), *TARGET, "-o", str(tmp_path / "fn.zip"), "--output-dir", str(tree), "--no-cache"])
    assert r.returncode == 0, r.explain()
    assert f"unpacked tree written to {tree}" in r.stdout
    assert not (tree / "old").exists()
    assert_tree_is_zip(tree, tmp_path / "fn.zip")


def test_config_tree_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    src = _source(tmp_path)
    (tmp_path / "lambdapack.toml").write_text(
        'runtime = "python3.12"\narch = "x86_64"\noutput = "out/fn.zip"\ntree_dir = "out/tree"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_lp(["build", str(src), "--config", str(tmp_path / "lambdapack.toml"), "--no-cache"], cwd=elsewhere)
    assert r.returncode == 0, r.explain()
    assert_tree_is_zip(tmp_path / "out" / "tree", tmp_path / "out" / "fn.zip")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("where", ["src", "src/build", "."])
def test_refuses_the_source_tree_around_or_inside(tmp_path: Path, where: str) -> None:
    src = _source(tmp_path)
    before = sorted(_tree_files(src))
    r = run_lp(["build", "src", *TARGET, "-o", str(tmp_path / "out" / "fn.zip"), "--output-dir", where],
               cwd=tmp_path)
    assert r.returncode == 2, r.explain()
    assert "source tree" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 2  # error: and hint:
    assert sorted(_tree_files(src)) == before
    assert not (tmp_path / "out").exists()
    assert not (src / "build").exists()


def test_refuses_a_tree_holding_the_zip_and_split_builds(tmp_path: Path) -> None:
    src = _source(tmp_path)
    tree = tmp_path / "tree"
    r = run_lp(["build", str(src), *TARGET, "-o", str(tree / "fn.zip"), "--output-dir", str(tree)])
    assert r.returncode == 2, r.explain()
    assert "zip output" in r.stderr
    r = run_lp(["build", str(src), *TARGET, "--split", "--output-dir", str(tree)], cwd=tmp_path)
    assert r.returncode == 2, r.explain()
    assert "--split" in r.stderr
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    r = run_lp(["build", str(src), *TARGET, "-o", str(tmp_path / "fn.zip"), "--with-layer", str(layer),
                "--output-dir", str(layer)])
    assert r.returncode == 2, r.explain()
    assert "--with-layer" in r.stderr and (layer / "python").is_dir()
    assert not tree.exists()
    assert_no_outputs(tmp_path)


def test_tree_over_a_file_and_o_to_a_directory(tmp_path: Path) -> None:
    src = _source(tmp_path)
    (tmp_path / "afile").write_text("mine")
    r = run_lp(["build", str(src), *TARGET, "-o", str(tmp_path / "fn.zip"), "--output-dir", str(tmp_path / "afile")])
    assert r.returncode == 2, r.explain()
    assert "--output-dir" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "afile").read_text() == "mine"
    assert_no_outputs(tmp_path)
    (tmp_path / "adir").mkdir()  # -o naming a directory writes the default name into it (issue 12)
    r = run_lp(["build", str(src), *TARGET, "-o", str(tmp_path / "adir")])
    assert r.returncode == 0, r.explain()
    assert (tmp_path / "adir" / "function-python3.12-x86_64.zip").is_file()


def test_failed_build_leaves_the_old_tree(tmp_path: Path) -> None:
    src = _source(tmp_path)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "keep.txt").write_text("the last good build")
    r = run_lp(["build", str(src), *TARGET, "-o", str(tmp_path / "fn.zip"), "--output-dir", str(tree),
                "--handler", "lambda_function.no_such_handler"])
    assert r.returncode == 1, r.explain()
    assert (tree / "keep.txt").read_text() == "the last good build"
    assert sorted(p.name for p in tree.iterdir()) == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lambdapack-")] == []
    assert_no_outputs(tmp_path)


_PROJECT = """runtime = "python3.12"
arch = "x86_64"
[functions.api]
src = "src"
handler = "lambda_function.lambda_handler"
tree_dir = "build/api"
[functions.worker]
src = "src"
handler = "lambda_function.lambda_handler"
"""


def test_project_function_tree_dir_and_manifest(tmp_path: Path) -> None:
    _source(tmp_path)
    (tmp_path / "lambdapack.toml").write_text(_PROJECT)
    r = run_lp(["build", "-j", "1"], cwd=tmp_path)
    assert r.returncode == 0, r.explain()
    assert_tree_is_zip(tmp_path / "build" / "api", tmp_path / "dist" / "api.zip")
    manifest = json.loads((tmp_path / "dist" / "lambdapack.json").read_text())
    trees = {a["name"]: a["tree"] for a in manifest["artifacts"]}
    assert trees == {"api": "../build/api", "worker": None}


@pytest.mark.parametrize(("config", "args", "says"), [
    (_PROJECT, ["--output-dir", "tree"], "--output-dir names a single artifact"),
    ('tree_dir = "tree"\n' + _PROJECT, [], "tree_dir in the defaults"),
    (_PROJECT + 'tree_dir = "build/api"\n', [], "function api would both write"),
])
def test_project_build_refuses_a_shared_tree(tmp_path: Path, config: str, args: list[str], says: str) -> None:
    _source(tmp_path)
    (tmp_path / "lambdapack.toml").write_text(config)
    r = run_lp(["build", *args], cwd=tmp_path)
    assert r.returncode == 2, r.explain()
    assert says in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "tree").exists() and not (tmp_path / "build").exists()
    assert not (tmp_path / "dist").exists()
