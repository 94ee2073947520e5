"""The source walk's ignore rules (assemble/wildmatch, assemble/ignore, assemble/ignorefiles) on
real trees on disk: each gitignore semantic, the precedence of nested files, .git/info/exclude,
.lambdapackignore re-including, the packaging rules, --keep, and the one summary line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdapack.assemble.ignore import IgnoreRules, LeftOut, left_out_line, packaging_rule, parse_ignore
from lambdapack.assemble.stage import SourceOptions, source_entries
from lambdapack.assemble.wildmatch import compile_lines, parse_line
from lambdapack.errors import InputError


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def _walk(src: Path, **options: object) -> tuple[list[str], list[LeftOut]]:
    left: list[LeftOut] = []
    names = sorted(e.arcname for e in source_entries(src, SourceOptions(**options), left_out=left))  # type: ignore[arg-type]
    return names, left


def _ignored(lines: list[str], path: str, *, is_dir: bool = False) -> bool:
    spec = compile_lines(lines)
    hit = spec.last_match(path, is_dir) if spec is not None else None
    return hit is not None and not hit.negated


# --- the pattern language ---------------------------------------------------------------

@pytest.mark.parametrize(("lines", "path", "is_dir", "expected"), [
    (["*.log"], "a.log", False, True),
    (["*.log"], "deep/er/a.log", False, True),  # no "/": any depth
    (["*.log", "!keep.log"], "keep.log", False, False),  # negation: the last match wins
    (["!keep.log", "*.log"], "keep.log", False, True),
    (["build/"], "build", True, True),  # dir-only
    (["build/"], "build", False, False),  # ... never a file
    (["/top"], "top", False, True),  # anchored
    (["/top"], "sub/top", False, False),
    (["doc/frotz"], "doc/frotz", True, True),  # a "/" inside anchors too
    (["doc/frotz"], "x/doc/frotz", True, False),
    (["a/**/b"], "a/b", False, True),  # "**" is zero or more folders
    (["a/**/b"], "a/x/y/b", False, True),
    (["**/deep"], "deep", False, True),
    (["**/deep"], "q/r/deep", False, True),
    (["logs/**"], "logs/x/y", False, True),
    (["logs/**"], "logs", True, False),
    (["a**b"], "a/b", False, False),  # not a whole component: a plain "*"
    (["a**b"], "axxb", False, True),
    (["*"], "a/b", False, True),  # basename pattern: matches the last component
    (["a/*"], "a/b/c", False, False),  # "*" never crosses "/"
    (["a/?"], "a/b", False, True),
    (["\\#hash"], "#hash", False, True),  # escaped "#"
    (["#hash"], "#hash", False, False),  # a comment
    (["\\!bang"], "!bang", False, True),  # escaped "!"
    (["sp\\ "], "sp ", False, True),  # an escaped trailing space stays
    (["tr   "], "tr", False, True),  # unescaped trailing spaces go
    (["crlf\r"], "crlf", False, True),  # a Windows-edited file
    (["esc\\*star"], "esc*star", False, True),
    (["esc\\*star"], "escXstar", False, False),
    (["[ab][0-9]"], "b7", False, True),
    (["[!c]"], "c", False, False),
    (["[!c]"], "d", False, True),
    (["[]]"], "]", False, True),
    (["[[:digit:]]x"], "5x", False, True),
    (["x[a-c]"], "xd", False, False),
    (["weird[x"], "weird[x", False, False),  # unclosed "[": git matches nothing
    (["trailing\\"], "trailing", False, False),
    (["*.TXT"], "a.txt", False, False),  # case-sensitive, as git by default
])
def test_gitignore_pattern_semantics(lines: list[str], path: str, is_dir: bool, expected: bool) -> None:
    assert _ignored(lines, path, is_dir=is_dir) is expected


def test_a_byte_order_mark_is_not_part_of_the_first_pattern() -> None:
    f = parse_ignore("\ufeff*.log\n", ".gitignore", ".gitignore", "")
    assert f is not None and IgnoreRules((f,)).decide("a.log", False) is not None


def test_comment_and_blank_lines_are_no_patterns() -> None:
    assert parse_line("# x") is None and parse_line("   ") is None and parse_line("") is None
    assert compile_lines(["# only", "", "  "]) is None
    p = parse_line("!/a/b/")
    assert p is not None and p.negated and p.dir_only and not p.basename and p.text == "!/a/b/"


# --- precedence between files -----------------------------------------------------------

def test_deeper_gitignore_overrides_and_lambdapackignore_overrides_all() -> None:
    root = parse_ignore("*.log\n", ".gitignore", ".gitignore", "")
    sub = parse_ignore("!keep.log\n", ".gitignore", "sub/.gitignore", "sub/")
    lpi = parse_ignore("!*.log\nsecret.log\n", ".lambdapackignore", ".lambdapackignore", "")
    assert root is not None and sub is not None and lpi is not None
    rules = IgnoreRules().adding([root]).adding([sub])
    assert rules.decide("a.log", False) == LeftOut("a.log", ".gitignore", ".gitignore", "*.log")
    assert rules.decide("sub/keep.log", False) is None
    assert rules.decide("other/keep.log", False) is not None  # sub/ governs only its folder
    # A .lambdapackignore added before a nested .gitignore still ranks above it.
    both = IgnoreRules().adding([root, lpi]).adding([parse_ignore("x.log\n", ".gitignore", "d/.gitignore", "d/")])  # type: ignore[list-item]
    assert both.decide("d/x.log", False) is None
    hit = both.decide("secret.log", False)
    assert hit is not None and hit.reason == ".lambdapackignore"


def test_walk_honours_nested_gitignore_files(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {
        "app.py": "", "debug.log": "", "keep.log": "",
        ".gitignore": "*.log\n!keep.log\nbuild/\n/top.py\n**/gen/*.py\n",
        "top.py": "", "pkg/top.py": "",  # anchored: only the root's
        "build/x.py": "", "pkg/build": "",  # dir-only: the file pkg/build ships
        "pkg/gen/a.py": "", "pkg/gen/a.txt": "",
        "pkg/.gitignore": "!debug.log\nlocal/\n", "pkg/debug.log": "", "pkg/local/x.py": "",
        "other/local/y.py": "",  # pkg/.gitignore does not govern other/
    })
    names, left = _walk(src)
    assert names == ["app.py", "keep.log", "other/local/y.py", "pkg/build", "pkg/debug.log", "pkg/gen/a.txt",
                     "pkg/top.py"]
    by_path = {x.path: x for x in left}
    assert by_path["build/"] == LeftOut("build/", ".gitignore", ".gitignore", "build/")
    assert by_path["pkg/local/"].origin == "pkg/.gitignore"
    assert by_path["pkg/.gitignore"].reason == "packaging"  # the ignore files themselves never ship


def test_a_folder_left_out_is_not_walked_so_nothing_inside_comes_back(tmp_path: Path) -> None:
    # git: "It is not possible to re-include a file if a parent directory of that file is excluded."
    src = _tree(tmp_path / "src", {"app.py": "", ".gitignore": "data/\n!data/keep.csv\n", "data/keep.csv": ""})
    assert _walk(src)[0] == ["app.py"]
    # ... but "data/*" leaves the folder walked, so "!" brings one back.
    (src / ".gitignore").write_text("data/*\n!data/keep.csv\n", encoding="utf-8")
    assert _walk(src)[0] == ["app.py", "data/keep.csv"]


def test_lambdapackignore_re_includes_and_adds(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {
        "app.py": "", ".gitignore": "*.json\n", "config.json": "", "cache.json": "", "notes.txt": "",
        ".lambdapackignore": "!config.json\nnotes.txt\n",
    })
    names, left = _walk(src)
    assert names == ["app.py", "config.json"]
    assert {x.path: x.reason for x in left} == {
        ".gitignore": "packaging", ".lambdapackignore": "packaging", "cache.json": ".gitignore",
        "notes.txt": ".lambdapackignore"}


def test_git_info_exclude_and_parent_gitignore_apply_inside_a_work_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    src = _tree(repo / "functions" / "api", {"app.py": "", "x.tmp": "", "y.bak": "", "z.env": ""})
    (repo / ".git" / "info").mkdir(parents=True)
    (repo / ".git" / "info" / "exclude").write_text("*.bak\n", encoding="utf-8")
    (repo / ".gitignore").write_text("*.tmp\nfunctions/api/z.env\n", encoding="utf-8")
    names, left = _walk(src)
    assert names == ["app.py"]
    assert {x.path for x in left} == {"x.tmp", "y.bak", "z.env"}
    # Outside a work tree the parents' files mean nothing.
    (repo / ".git" / "info" / "exclude").unlink()
    (repo / ".git" / "info").rmdir()
    (repo / ".git").rmdir()
    assert _walk(src)[0] == ["app.py", "x.tmp", "y.bak", "z.env"]


def test_a_dot_git_file_points_at_the_repository(tmp_path: Path) -> None:
    """A linked work tree: `.git` is a file, and info/exclude lives in the common directory."""
    common = tmp_path / "main.git"
    (common / "info").mkdir(parents=True)
    (common / "info" / "exclude").write_text("*.bak\n", encoding="utf-8")
    (common / "worktrees" / "wt").mkdir(parents=True)
    (common / "worktrees" / "wt" / "commondir").write_text("../..\n", encoding="utf-8")
    src = _tree(tmp_path / "wt", {"app.py": "", "y.bak": ""})
    (src / ".git").write_text(f"gitdir: {common / 'worktrees' / 'wt'}\n", encoding="utf-8")
    assert _walk(src)[0] == ["app.py"]


def test_an_ignored_symlink_out_of_the_tree_is_left_out_not_refused(tmp_path: Path) -> None:
    outside = _tree(tmp_path / "home", {"secret": "x"})
    src = _tree(tmp_path / "src", {"app.py": "", ".gitignore": "link\n"})
    (src / "link").symlink_to(outside / "secret")
    assert _walk(src)[0] == ["app.py"]
    (src / ".gitignore").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="outside the source directory"):
        _walk(src)


def test_a_linked_gitignore_is_not_read_as_git_does_not(tmp_path: Path) -> None:
    shared = _tree(tmp_path / "shared", {"ignore": "*.log\n"})
    src = _tree(tmp_path / "src", {"app.py": "", "a.log": ""})
    (src / ".gitignore").symlink_to(shared / "ignore")
    assert _walk(src)[0] == ["a.log", "app.py"]
    (src / ".lambdapackignore").symlink_to(shared / "ignore")  # ours is followed: one file for many functions
    assert _walk(src)[0] == ["app.py"]


def test_an_unreadable_gitignore_is_a_clear_error(tmp_path: Path) -> None:
    import os

    src = _tree(tmp_path / "src", {"app.py": "", ".gitignore": "*.log\n"})
    (src / ".gitignore").chmod(0)
    try:
        if os.access(src / ".gitignore", os.R_OK):
            pytest.skip("running as a user who reads any file (root)")
        with pytest.raises(InputError, match=r"cannot read .*\.gitignore"):
            _walk(src)
    finally:
        (src / ".gitignore").chmod(0o644)


# --- the packaging rules and --keep --------------------------------------------------------

PACKAGING_FILES = ["requirements.txt", "requirements-dev.txt", "pyproject.toml", "uv.lock", "poetry.lock",
                   "Pipfile", "Pipfile.lock", "pylock.toml", "pylock.prod.toml", "pdm.lock", "Makefile",
                   "README.md", "readme.rst", "template.yaml", "template.yml", "samconfig.toml", "serverless.yml",
                   "old.zip", "x-1.0-py3-none-any.whl", "x-1.0.tar.gz", ".gitignore", ".lambdapackignore"]


def test_packaging_files_at_the_root_are_left_out_nested_ones_ship(tmp_path: Path) -> None:
    files = {name: "" for name in PACKAGING_FILES}
    files |= {"app.py": "", "pkg/data/model.zip": "", "pkg/README.md": "", "pkg/requirements.txt": "",
              "requirements.in": "", "setup.cfg": ""}
    src = _tree(tmp_path / "src", files)
    names, left = _walk(src)
    assert names == ["app.py", "pkg/README.md", "pkg/data/model.zip", "pkg/requirements.txt", "requirements.in",
                     "setup.cfg"]
    assert sorted(x.path for x in left) == sorted(PACKAGING_FILES)
    assert all(x.reason == "packaging" and x.origin == "default" for x in left)
    assert packaging_rule("README.md") == "README*" and packaging_rule("sub/.gitignore") == ".gitignore"


def test_keep_ships_what_a_rule_left_out(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"app.py": "", "README.md": "", ".gitignore": "data/\n", "data/a.csv": ""})
    assert _walk(src, keeps=("README.md", "data"))[0] == ["README.md", "app.py", "data/a.csv"]
    assert _walk(src, keeps=("*.md",))[0] == ["README.md", "app.py"]
    assert _walk(src, ignore_files=False)[0] == [".gitignore", "README.md", "app.py", "data/a.csv"]


# --- the line the build prints ----------------------------------------------------------

def test_left_out_line() -> None:
    assert left_out_line([]) is None
    left = [LeftOut("build/", ".gitignore", ".gitignore", "build/"),
            LeftOut("a.log", ".gitignore", ".gitignore", "*.log"),
            *(LeftOut(n, "packaging", "default", n) for n in ("requirements.txt", "pyproject.toml", "Makefile",
                                                              "README.md"))]
    assert left_out_line(left) == (
        "source: left out 6 paths (.gitignore: 2: build/, a.log; packaging: 4: requirements.txt, pyproject.toml, "
        "Makefile, … 1 more; --keep PATTERN ships one)")
