"""gitignore patterns as git reads them (dir.c and wildmatch.c), compiled to regular expressions.

Pure, and only `re`: the no-change rebuild parses every ignore file of the tree, and
`pathspec` cost 8.5 ms of imports there (5% of a 150 ms rebuild) for what fits in this module.

A line, as git reads it: a trailing CR and unescaped trailing spaces are dropped; blank lines
and `#` lines are nothing; a leading `!` negates; a trailing `/` matches folders only; a
pattern with no other `/` matches the last component at any depth, else the path from the
ignore file's folder (a leading `/` only anchors). In the pattern, `*` and `?` never match
`/`, `[...]` is a class (`!` or `^` negates, ranges, `[:alpha:]` and the other POSIX
classes) that never matches `/` either, `\\x` is a literal `x`, and `**` is "any folders" only
as a whole component (`**/x`, `x/**`, `a/**/b`), elsewhere a plain `*`. A malformed pattern
(an unclosed `[`, a trailing `\\`) matches nothing, as in git. Matching is case-sensitive
(git's default, `core.ignoreCase` off).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CompiledIgnore", "IgnorePattern", "compile_lines", "parse_line"]

_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": " \\t\\n\\r\\f\\v", "upper": "A-Z", "xdigit": "0-9a-fA-F",
}


@dataclass(frozen=True)
class IgnorePattern:
    text: str  # the line as written, trimmed (shown in notes)
    negated: bool
    dir_only: bool
    basename: bool  # no "/" but a trailing one: matched against the last component
    regex: str | None  # None: malformed, matches nothing


def _trim(line: str) -> str:
    """Drop a trailing CR and the trailing spaces no backslash escapes."""
    line = line.removesuffix("\r")
    end = len(line)
    while end > 0 and line[end - 1] == " ":
        slashes = len(line[:end - 1]) - len(line[:end - 1].rstrip("\\"))
        if slashes % 2:
            break  # "\ ": an escaped space stays
        end -= 1
    return line[:end]


def _bracket(pat: str, i: int) -> tuple[str, int] | None:
    """The class starting at pat[i] == "[" as a regex, and the index after its "]"; None if unclosed."""
    j, n = i + 1, len(pat)
    negate = j < n and pat[j] in "!^"
    j += negate
    parts: list[str] = []
    first = True
    while j < n:
        c = pat[j]
        if c == "]" and not first:
            body = "".join(parts)
            if not body:  # only reversed ranges: nothing matches (or anything, negated)
                return ("[^/]" if negate else "(?!)"), j + 1
            return (f"[^/{body}]" if negate else f"(?!/)[{body}]"), j + 1
        first = False
        if c == "[" and pat.startswith("[:", j):
            end = pat.find(":]", j + 2)
            name = pat[j + 2:end] if end != -1 else ""
            if name in _POSIX_CLASSES:
                parts.append(_POSIX_CLASSES[name])
                j = end + 2
                continue
            if end != -1:
                return None  # an unknown class: git's wildmatch aborts
        if c == "\\":
            j += 1
            if j >= n:
                return None
            c = pat[j]
        if j + 2 < n and pat[j + 1] == "-" and pat[j + 2] != "]":
            hi, k = pat[j + 2], j + 3
            if hi == "\\":
                if k >= n:
                    return None
                hi, k = pat[k], k + 1
            parts.append(f"{re.escape(c)}-{re.escape(hi)}" if c <= hi else "")  # a reversed range is empty
            j = k
            continue
        parts.append(re.escape(c))
        j += 1
    return None


def _stars(pat: str, i: int) -> tuple[str, int]:
    """The run of "*" at pat[i]: "any folders" when it is a whole "**" component, else "[^/]*"."""
    j = i
    while j < len(pat) and pat[j] == "*":
        j += 1
    whole = j - i >= 2 and (i == 0 or pat[i - 1] == "/") and (j == len(pat) or pat[j] == "/")
    if not whole:
        return "[^/]*", j
    if j == len(pat):
        return ".*", j
    return "(?:.*/)?", j + 1  # "**/": zero or more folders, the "/" taken with it


def _translate(pat: str) -> str | None:
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if c == "*":
            piece, i = _stars(pat, i)
            out.append(piece)
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            cls = _bracket(pat, i)
            if cls is None:
                return None
            out.append(cls[0])
            i = cls[1]
            continue
        elif c == "\\":
            if i + 1 >= n:
                return None  # a trailing backslash: git's pattern never matches
            i += 1
            out.append(re.escape(pat[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def parse_line(line: str) -> IgnorePattern | None:
    """One line of an ignore file; None for a blank or comment line."""
    text = _trim(line)
    if not text or text.startswith("#"):
        return None
    pat = text
    negated = pat.startswith("!")
    if negated:
        pat = pat[1:]
    dir_only = pat.endswith("/")
    pat = pat.removesuffix("/")  # one, as git does: "x//" stays a path that matches nothing
    basename = "/" not in pat
    pat = pat.removeprefix("/")
    regex = _translate(pat) if pat else None
    return IgnorePattern(text, negated, dir_only, basename, regex)


@dataclass(frozen=True)
class CompiledIgnore:
    """One ignore file's patterns as at most four alternations (folders or files, by last
    component or whole path), highest line first, so one match names the last matching line."""

    patterns: tuple[IgnorePattern, ...]
    by_kind: dict[tuple[bool, bool], re.Pattern[str]]  # (is_dir, basename) -> alternation

    def last_match(self, path: str, is_dir: bool) -> IgnorePattern | None:
        """The last pattern that matches `path` (relative to the file's folder), or None."""
        best = -1
        for basename in (True, False):
            alt = self.by_kind.get((is_dir, basename))
            if alt is None:
                continue
            m = alt.fullmatch(path.rsplit("/", 1)[-1] if basename else path)
            if m is not None and m.lastgroup is not None:
                best = max(best, int(m.lastgroup[1:]))
        return self.patterns[best] if best >= 0 else None


def compile_lines(lines: Sequence[str]) -> CompiledIgnore | None:
    """An ignore file's lines compiled; None when no line is a pattern."""
    patterns = tuple(p for p in (parse_line(x) for x in lines) if p is not None)
    if not patterns:
        return None
    by_kind: dict[tuple[bool, bool], re.Pattern[str]] = {}
    for is_dir in (True, False):
        for basename in (True, False):
            alts = [f"(?P<p{i}>{p.regex})" for i, p in reversed(list(enumerate(patterns)))
                    if p.regex is not None and p.basename == basename and (is_dir or not p.dir_only)]
            if alts:
                by_kind[(is_dir, basename)] = re.compile("|".join(alts), re.DOTALL)
    return CompiledIgnore(patterns, by_kind)
