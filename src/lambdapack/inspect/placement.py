"""Where an entry lands when Lambda extracts it on Linux, or why it must not be extracted.

Names are normalised the way an extractor on Linux would (`a/./b`, `a/../b`), and
symbolic links are followed through the artifact's own links, because a chain of
individually harmless links can still leave the extraction root.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdapack.inspect.entries import REBUILD, entry_finding
from lambdapack.inspect.findings import ERROR, Finding

__all__ = ["MAX_SYMLINK_TARGET", "Placed", "escapes", "place"]

_PATH_MAX = 4096  # Linux cannot create a longer path, so a longer name is never extracted
MAX_SYMLINK_TARGET = 4096
_MAX_SYMLINK_HOPS = 40  # Linux's own limit before ELOOP


@dataclass(frozen=True)
class Placed:
    """Where a raw name lands when extracted, or why it must not be extracted."""

    name: str | None
    is_dir: bool
    problem: Finding | None


def place(name: str) -> Placed:
    """Normalise an entry name the way an extractor on Linux would, or reject it."""
    shown = name
    is_dir = name.endswith("/")

    def unplaceable(why: str, code: str = "LP302", shown: str = shown, fix: str = REBUILD) -> Placed:
        return Placed(None, is_dir, entry_finding(code, ERROR, shown, why, fix))

    if "\x00" in name:
        return unplaceable("entry name contains a NUL byte; no Linux extractor can create it")
    if len(name.encode("utf-8", "surrogateescape")) > _PATH_MAX:
        return unplaceable(f"entry name longer than Linux's PATH_MAX ({_PATH_MAX} bytes)", shown=shown[:200] + "…")
    drive = len(name) >= 2 and name[1] == ":" and name[0].isalpha()
    if name.startswith(("/", "\\")) or drive:
        return unplaceable("absolute path; unzip tools strip or refuse it, so where it lands is tool-dependent")
    parts: list[str] = []
    for seg in name.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                return unplaceable(
                    "path traversal: the entry would be written outside the extraction directory",
                    code="LP301", fix="remove the entry; a legitimate package never contains '../' names",
                )
            parts.pop()
            continue
        parts.append(seg)
    if not parts:
        return Placed(None, True, None)  # "./" and the like: the root itself
    problem = None
    if "\\" in name:
        # Lambda extracts on Linux, where "\" is an ordinary character: "pkg\mod.py"
        # becomes one file with that literal name and `import pkg.mod` fails.
        problem = entry_finding(
            "LP302",
            ERROR,
            shown,
            "backslash in the entry name (a zip made on Windows): Lambda extracts it as one file with a literal '\\' in its name",
            REBUILD,
        )
    return Placed("/".join(parts), is_dir, problem)


def escapes(link: str, target: str, links: dict[str, str]) -> bool:
    """Whether following symlink `link` -> `target` leaves the root, following the
    artifact's own symlinks on the way (a chain of individually harmless links can escape)."""
    if target.startswith("/") or not target:
        return True
    pending = target.split("/")
    stack = link.split("/")[:-1]
    hops = 0
    while pending:
        seg = pending.pop(0)
        if seg in ("", "."):
            continue
        if seg == "..":
            if not stack:
                return True
            stack.pop()
            continue
        stack.append(seg)
        here = "/".join(stack)
        if here in links:
            hops += 1
            if hops > _MAX_SYMLINK_HOPS:
                return True  # a loop: treat as hostile rather than spin
            nxt = links[here]
            if nxt.startswith("/") or not nxt:
                return True
            stack.pop()
            pending = nxt.split("/") + pending
    return False
