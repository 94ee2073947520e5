"""PEP 735 dependency groups: `[dependency-groups]` of a pyproject.toml, with `{include-group = ...}`
entries followed, as the requirement lines a group stands for (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from lambdapack.errors import InputError

__all__ = ["group_lines", "group_names", "normalize_group"]


def normalize_group(name: str) -> str:
    """PEP 735 compares group names as PEP 503 normalizes project names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _table(data: Mapping[str, object], where: str) -> dict[str, object]:
    groups = data.get("dependency-groups", {})
    if not isinstance(groups, dict):
        raise InputError(f"{where}: [dependency-groups] must be a table of arrays")
    return {normalize_group(str(k)): v for k, v in groups.items()}


def group_names(data: Mapping[str, object], where: str) -> list[str]:
    """The groups a pyproject defines, as written."""
    groups = data.get("dependency-groups", {})
    return sorted(str(k) for k in groups) if isinstance(groups, dict) else []


def group_lines(data: Mapping[str, object], groups: Sequence[str], where: str) -> list[str]:
    """The requirement lines of `groups`, includes followed, each once, in order; an unknown
    group or an include cycle is an InputError."""
    table = _table(data, where)
    out: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        key = normalize_group(name)
        if key in path:
            raise InputError(f"{where}: dependency group {name!r} includes itself ({' -> '.join((*path, key))})")
        entries = table.get(key)
        if not isinstance(entries, list):
            raise InputError(f"{where}: no dependency group {name!r}")
        for entry in entries:
            if isinstance(entry, str):
                out.append(entry)
            elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
                visit(entry["include-group"], (*path, key))
            else:
                raise InputError(f"{where}: dependency group {name!r} has an entry that is neither a "
                                 f"requirement nor {{include-group = ...}}: {entry!r}")

    for group in groups:
        visit(group, ())
    return list(dict.fromkeys(out))
