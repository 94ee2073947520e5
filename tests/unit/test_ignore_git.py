"""The source walk agrees with git itself: on seeded random trees with random ignore files
(root and nested, `!`, `dir/`, `/anchored`, `**`, classes, escapes), the files the walk ships
are exactly those `git ls-files --others --exclude-standard` calls not ignored (less the
.gitignore files, which the walk leaves out as tooling). Real git, real trees."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from lambdapack.assemble.stage import source_entries

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed")

# No user or system config: a global core.excludesFile would ignore more than the walk reads.
GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": os.devnull}
NAMES = ["a", "b.py", "ab", "c d", "x[1]", "d*e"]
ATOMS = [*NAMES, *NAMES, "*", "?", "**", "[ab]", "[!a]", "[a-c]", "*.py", "[[:digit:]]", "\\*", "x\\[1]", "[^b]*"]


def _pattern(rnd: random.Random) -> str:
    p = "/".join(rnd.choice(ATOMS) for _ in range(rnd.choice([1, 1, 1, 2, 2, 3])))
    if rnd.random() < 0.2:
        p = "/" + p
    if rnd.random() < 0.2:
        p += "/"
    if rnd.random() < 0.25:
        p = "!" + p
    return p


def _random_tree(root: Path, rnd: random.Random) -> None:
    root.mkdir()
    for _ in range(30):
        p = root.joinpath(*(rnd.choice(NAMES) for _ in range(rnd.randint(1, 4))))
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.exists():
                p.write_text("x", encoding="utf-8")
        except (FileExistsError, NotADirectoryError):
            pass  # a name already taken by a file or a folder
    dirs = [root, *(Path(d) for d, _, _ in os.walk(root) if d != str(root))]
    for d in [root, *rnd.sample(dirs, min(len(dirs), 2))]:
        if not (d / ".gitignore").is_dir():
            (d / ".gitignore").write_text("\n".join(_pattern(rnd) for _ in range(rnd.randint(1, 6))) + "\n",
                                          encoding="utf-8")


def _git_not_ignored(repo: Path, cwd: Path) -> list[str]:
    assert GIT is not None
    out = subprocess.run([GIT, "-C", str(cwd), "ls-files", "--others", "--exclude-standard", "-z"],
                         capture_output=True, text=True, check=True, timeout=60, env=GIT_ENV).stdout
    return sorted(p for p in out.split("\0") if p and p.rsplit("/", 1)[-1] != ".gitignore")


def _git_init(repo: Path) -> None:
    assert GIT is not None
    subprocess.run([GIT, "init", "-q", str(repo)], check=True, timeout=60, env=GIT_ENV)


def test_walk_ships_what_git_does_not_ignore(tmp_path: Path) -> None:
    rnd = random.Random(20261202)
    ignored = 0
    for i in range(200):
        root = tmp_path / f"t{i}"
        _random_tree(root, rnd)
        _git_init(root)
        ours = sorted(e.arcname for e in source_entries(root))
        assert ours == _git_not_ignored(root, root), (root / ".gitignore").read_text(encoding="utf-8")
        ignored += sum(1 for f in root.rglob("*") if f.is_file() and ".git" not in f.parts) - len(ours)
    assert ignored > 1000  # the patterns did leave files out (else agreeing would prove little)


def test_a_source_folder_inside_a_repository_agrees_with_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    src = repo / "functions" / "api"
    for rel in ["app.py", "x.tmp", "y.bak", "pkg/z.tmp", "pkg/keep.tmp", "gen/a.py", "data/raw.csv"]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("x", encoding="utf-8")
    _git_init(repo)
    (repo / ".git" / "info" / "exclude").write_text("*.bak\n", encoding="utf-8")
    (repo / ".gitignore").write_text("*.tmp\n/functions/api/gen/\ndata\n", encoding="utf-8")
    (repo / "functions" / ".gitignore").write_text("!keep.tmp\n", encoding="utf-8")
    ours = sorted(e.arcname for e in source_entries(src))
    assert ours == _git_not_ignored(repo, src) == ["app.py", "pkg/keep.tmp"]
