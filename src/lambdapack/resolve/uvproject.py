"""A uv project as its pyproject.toml describes it (pure over the parsed table): whether the
project itself is a package that gets built and installed, where its package's sources are,
and which extras and dependency groups it defines (to name them when one asked for is not)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from lambdapack.errors import UsageError
from lambdapack.resolve.dependencygroups import group_lines, group_names, normalize_group

__all__ = ["check_names", "extra_names", "is_packaged", "package_sources", "uv_group_lines", "uv_group_names"]


def _tool_uv(data: Mapping[str, object]) -> Mapping[str, object]:
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv if isinstance(uv, dict) else {}


def is_packaged(data: Mapping[str, object]) -> bool:
    """uv's rule: `tool.uv.package` when it is set, else whether a [build-system] is declared."""
    package = _tool_uv(data).get("package")
    if isinstance(package, bool):
        return package
    return isinstance(data.get("build-system"), dict)


def project_name(data: Mapping[str, object]) -> str | None:
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) else None


def package_sources(root: Path, data: Mapping[str, object]) -> list[Path]:
    """Where a packaged project's own package lives in its tree, the sources its wheel is built
    from: `src/` (the src layout, as uv's and most backends' default), else the import name's
    directory or module at the root. These ship as the installed package, not again as code."""
    if (root / "src").is_dir():
        return [root / "src"]
    name = project_name(data)
    if name is None:
        return []
    module = re.sub(r"[-_.]+", "_", name).lower()
    return [p for p in (root / module, root / f"{module}.py") if p.exists()]


def extra_names(data: Mapping[str, object]) -> list[str]:
    project = data.get("project")
    optional = project.get("optional-dependencies") if isinstance(project, dict) else None
    return sorted(str(k) for k in optional) if isinstance(optional, dict) else []


def uv_group_names(data: Mapping[str, object], where: str) -> list[str]:
    """PEP 735 groups, plus `dev` where uv's legacy `tool.uv.dev-dependencies` defines it."""
    names = group_names(data, where)
    if "dev-dependencies" in _tool_uv(data) and "dev" not in map(normalize_group, names):
        names.append("dev")
    return sorted(names)


def uv_group_lines(data: Mapping[str, object], groups: Sequence[str], where: str) -> list[str]:
    """The requirement lines of `groups`, `dev` from `tool.uv.dev-dependencies` where no PEP 735
    group of that name exists (uv reads both as one `dev` group)."""
    defined = {normalize_group(g) for g in group_names(data, where)}
    found = _tool_uv(data).get("dev-dependencies")
    legacy = [str(x) for x in found] if isinstance(found, list) else None
    use_legacy = legacy is not None and "dev" not in defined
    pep735 = [g for g in groups if not (use_legacy and normalize_group(g) == "dev")]
    lines = group_lines(data, pep735, where)
    if legacy is not None and len(pep735) < len(groups):
        lines += [x for x in legacy if x not in lines]
    return lines


def check_names(data: Mapping[str, object], extras: Sequence[str], groups: Sequence[str], where: str) -> None:
    """An extra or group the project does not define is a usage error naming those it does."""
    def known(kind: str, flag: str, asked: Sequence[str], defined: list[str], norm: bool) -> None:
        have = {normalize_group(d) if norm else d for d in defined}
        for name in asked:
            if (normalize_group(name) if norm else name) not in have:
                raise UsageError(f"{flag} {name}: {where} defines no {kind} {name!r} "
                                 f"(defined: {', '.join(defined) or 'none'})",
                                 f"pass one of the defined names, or add it to {where}")

    known("optional dependency group (extra)", "--extra", extras, extra_names(data), norm=False)
    known("dependency group", "--group", groups, uv_group_names(data, where), norm=True)
