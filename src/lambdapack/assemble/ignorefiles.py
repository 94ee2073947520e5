"""Reading the ignore files the source walk honours (the I/O beside the pure `ignore`): a
folder's `.gitignore` and `.lambdapackignore`, and, when SRC_DIR lies inside a git work tree,
that tree's `.git/info/exclude` and the `.gitignore` files of SRC_DIR's parents up to its root.

Not read: git's global `core.excludesFile` (it differs per machine, so the same tree would
give different zips on a laptop and in CI) and git's index (a tracked file that a
`.gitignore` matches is still left out: re-include it with `!` in `.lambdapackignore`), nor a
`.gitignore` that is a symlink (git does not follow one).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from lambdapack.assemble.ignore import GITIGNORE, IGNORE_FILE_NAMES, IgnoreFile, IgnoreRules, parse_ignore
from lambdapack.errors import InputError

__all__ = ["folder_ignore_files", "starting_rules"]


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}",
                         "make it readable, or remove it") from None
    # git reads bytes; undecodable bytes stay as they are, matching the same bytes in names.
    return data.decode("utf-8", errors="surrogateescape")


def folder_ignore_files(folder: str, rel: str, names: Iterable[str], offset: str) -> list[IgnoreFile]:
    """The ignore files listed in `folder` (SRC_DIR-relative `rel`, "" for the root), parsed.
    `names` is the folder's listing, so a folder without one costs nothing."""
    found = []
    present = set(names)
    for name in IGNORE_FILE_NAMES:
        if name in present:
            path = Path(folder, name)
            if not path.is_file() or (name == GITIGNORE and path.is_symlink()):
                continue  # a folder named .gitignore; a linked .gitignore, which git does not follow
            base = offset + (rel + "/" if rel else "")
            parsed = parse_ignore(_read(path), name, f"{rel}/{name}" if rel else name, base)
            if parsed is not None:
                found.append(parsed)
    return found


def _git_dir(top: Path) -> Path | None:
    """The repository directory of the work tree at `top`: `.git`, or where a `.git` file
    ("gitdir: ...", a linked work tree or a submodule) points, at its common directory."""
    dot = top / ".git"
    if dot.is_dir():
        return dot
    try:
        line = dot.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not line.startswith("gitdir:"):
        return None
    gitdir = (top / line[len("gitdir:"):].strip()).resolve()
    try:
        common = (gitdir / "commondir").read_text(encoding="utf-8").strip()
        return (gitdir / common).resolve()
    except (OSError, UnicodeDecodeError):
        return gitdir


def _work_tree_top(real_src: Path) -> Path | None:
    """The nearest folder at or above SRC_DIR holding `.git`, or None outside a work tree."""
    for folder in (real_src, *real_src.parents):
        if (folder / ".git").exists():
            return folder
    return None


def starting_rules(src: Path) -> IgnoreRules:
    """The rules in force at SRC_DIR before its own files: `.git/info/exclude` and the parents'
    `.gitignore` files, top down, when SRC_DIR is inside a git work tree."""
    real = Path(os.path.realpath(src))
    top = _work_tree_top(real)
    if top is None:
        return IgnoreRules()
    rel = real.relative_to(top).as_posix()
    offset = "" if rel == "." else rel + "/"
    files: list[IgnoreFile] = []
    git_dir = _git_dir(top)
    exclude = git_dir / "info" / "exclude" if git_dir is not None else None
    if exclude is not None and exclude.is_file():
        parsed = parse_ignore(_read(exclude), GITIGNORE, str(exclude), "")
        if parsed is not None:
            files.append(parsed)
    parts = [] if not offset else offset.rstrip("/").split("/")
    for depth in range(len(parts)):  # the parents of SRC_DIR, top first; SRC_DIR's own is walked
        base = "/".join(parts[:depth])
        gi = top.joinpath(*parts[:depth], GITIGNORE)
        if gi.is_file() and not gi.is_symlink():
            parsed = parse_ignore(_read(gi), GITIGNORE, str(gi), base + "/" if base else "")
            if parsed is not None:
                files.append(parsed)
    return IgnoreRules(tuple(files), offset)
