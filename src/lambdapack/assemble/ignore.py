"""What the source walk leaves out beyond its fixed excludes, decided without I/O: the rules of
`.gitignore` files (and `.git/info/exclude`), then `.lambdapackignore` files, then the
packaging and tooling files Lambda never reads. `--keep` wins over all three.

Ignore files follow git: the patterns are gitignore's (`wildmatch`: `!`, `dir/`,
`/anchored`, `**`, `\\` escapes), each file governs its own directory and below, a
deeper file overrides a shallower one, `.git/info/exclude` is below every `.gitignore`, and
every `.lambdapackignore` is above them all (so it can re-include with `!`). A folder left out
is not walked, so nothing inside it comes back (git: "not possible to re-include a file if a
parent directory of that file is excluded"). Symlinks match as files, as in git.

The packaging rules (`PACKAGING`) match files at the root of the source directory only,
case-insensitively: a stray `requirements.txt` or `build.zip` beside the handler, never a
data file a package inside reads (`pkg/data/model.zip` ships).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from lambdapack.assemble.patterns import PathPattern
from lambdapack.assemble.wildmatch import CompiledIgnore, compile_lines

__all__ = [
    "GITIGNORE",
    "IGNORE_FILE_NAMES",
    "LAMBDAPACKIGNORE",
    "PACKAGING",
    "PACKAGING_ANYWHERE",
    "PACKAGING_REASON",
    "IgnoreFile",
    "IgnoreRules",
    "LeftOut",
    "kept",
    "left_out_line",
    "packaging_rule",
    "parse_ignore",
]

GITIGNORE = ".gitignore"
LAMBDAPACKIGNORE = ".lambdapackignore"
IGNORE_FILE_NAMES = (GITIGNORE, LAMBDAPACKIGNORE)
PACKAGING_REASON = "packaging"

# Files at the source root that build or deploy tools read and Lambda never does.
PACKAGING: tuple[str, ...] = (
    "requirements*.txt",
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "pylock.toml",
    "pylock.*.toml",  # PEP 751's named lock files
    "pdm.lock",
    "Makefile",
    "README*",
    "template.yaml",
    "template.yml",
    "samconfig.toml",
    "serverless.yml",
    "*.zip",
    "*.whl",
    "*.tar.gz",
)
# The ignore files themselves, in any folder.
PACKAGING_ANYWHERE: tuple[str, ...] = IGNORE_FILE_NAMES


@dataclass(frozen=True)
class LeftOut:
    """One path the walk left out (a folder stands for everything below it)."""

    path: str  # relative to SRC_DIR, "/"-separated, a folder with a trailing "/"
    reason: str  # ".gitignore" | ".lambdapackignore" | "packaging"
    origin: str  # the file whose rule it was (".gitignore", "sub/.gitignore"), or "default"
    pattern: str  # the rule as written

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "origin": self.origin, "pattern": self.pattern}


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one ignore file and the folder they govern."""

    kind: str  # GITIGNORE (also for .git/info/exclude) or LAMBDAPACKIGNORE
    origin: str  # as shown in LeftOut.origin
    base: str  # the folder it governs, relative to the rules' top: "" or "sub/"
    spec: CompiledIgnore


def parse_ignore(text: str, kind: str, origin: str, base: str) -> IgnoreFile | None:
    """The patterns in `text`; None when it has none (only comments and blank lines)."""
    spec = compile_lines(text.removeprefix("\ufeff").split("\n"))  # git skips a UTF-8 BOM too
    return IgnoreFile(kind, origin, base, spec) if spec is not None else None


@dataclass(frozen=True)
class IgnoreRules:
    """The ignore files in force in one folder of the walk, lowest precedence first.

    `offset` is SRC_DIR relative to the top the files' bases are relative to: the git work
    tree's root when SRC_DIR is inside one (its parents' `.gitignore` files apply too), else "".
    """

    files: tuple[IgnoreFile, ...] = ()
    offset: str = ""

    def adding(self, found: Sequence[IgnoreFile]) -> IgnoreRules:
        """These rules with a folder's own files; .lambdapackignore files stay above every .gitignore."""
        if not found:
            return self
        every = (*self.files, *found)
        ordered = [f for f in every if f.kind == GITIGNORE] + [f for f in every if f.kind != GITIGNORE]
        return IgnoreRules(tuple(ordered), self.offset)

    def decide(self, rel: str, is_dir: bool) -> LeftOut | None:
        """Why `rel` is left out by an ignore file, or None: the highest-precedence file with a
        matching pattern decides, and its last matching pattern (a `!` one re-includes)."""
        full = self.offset + rel
        for f in reversed(self.files):
            if not full.startswith(f.base):
                continue
            hit = f.spec.last_match(full[len(f.base):], is_dir)
            if hit is None:
                continue
            if hit.negated:
                return None
            return LeftOut(rel + ("/" if is_dir else ""), f.kind, f.origin, hit.text)
        return None


def packaging_rule(rel: str) -> str | None:
    """The default rule that leaves out the file `rel`, if one does."""
    name = rel.rsplit("/", 1)[-1]
    if name in PACKAGING_ANYWHERE:
        return name
    if "/" in rel:
        return None
    low = name.lower()
    return next((p for p in PACKAGING if fnmatch.fnmatchcase(low, p.lower())), None)


def kept(rel: str, keeps: Sequence[PathPattern]) -> bool:
    """--keep: the path (or a folder above it, for an unanchored pattern) is never left out."""
    return any(k.matches(rel) for k in keeps)


def left_out_line(left: Sequence[LeftOut], shown: int = 3) -> str | None:
    """The one line a build says about what it left out, or None when nothing was:
    "source: left out 4 paths (.gitignore: 2: build/, x.log; packaging: 2: requirements.txt, ...)"."""
    if not left:
        return None
    by_reason: dict[str, list[str]] = {}
    for item in left:
        by_reason.setdefault(item.reason, []).append(item.path)
    parts = []
    for reason in (GITIGNORE, LAMBDAPACKIGNORE, PACKAGING_REASON):
        paths = by_reason.get(reason)
        if paths:
            more = f", … {len(paths) - shown} more" if len(paths) > shown else ""
            parts.append(f"{reason}: {len(paths)}: {', '.join(paths[:shown])}{more}")
    noun = "path" if len(left) == 1 else "paths"
    return f"source: left out {len(left)} {noun} ({'; '.join(parts)}; --keep PATTERN ships one)"
