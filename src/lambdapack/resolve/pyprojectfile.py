"""pyproject.toml `[project]` tables: the dependencies and the requested extras."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.requirements import Requirement

from lambdapack.errors import InputError
from lambdapack.resolve.inputs import Requirements
from lambdapack.resolve.requirementsfile import read_text_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["pyproject_requirements", "read_pyproject", "read_toml"]


def pyproject_requirements(data: dict[str, object], extras: tuple[str, ...], where: str) -> list[Requirement]:
    from packaging.requirements import InvalidRequirement, Requirement

    project = data.get("project")
    if not isinstance(project, dict):
        tool = data.get("tool")
        poetry = isinstance(tool, dict) and "poetry" in tool
        raise InputError(f"{where} has no [project] table",
                         "a Poetry project: pass --lock poetry.lock (run `poetry lock` first if there is none)"
                         if poetry else "add [project] dependencies, or use -r")
    deps = project.get("dependencies", [])
    if "dependencies" in project.get("dynamic", []):
        raise InputError(
            f"{where} declares dependencies as dynamic; lambdapack reads only static [project].dependencies",
            "list them in [project].dependencies, or export a requirements.txt and pass -r",
        )
    optional = project.get("optional-dependencies", {})
    if not isinstance(deps, list) or not isinstance(optional, dict):
        raise InputError(f"{where}: [project].dependencies must be an array of strings")
    lines = list(deps)
    for extra in extras:
        if extra not in optional:
            known = ", ".join(sorted(optional)) or "none"
            raise InputError(f"{where} has no optional dependency group {extra!r} (groups: {known})")
        lines += optional[extra]
    out = []
    for line in lines:
        try:
            out.append(Requirement(str(line)))
        except InvalidRequirement as e:
            raise InputError(f"{where}: invalid requirement {line!r}: {e}") from None
    return out


def read_toml(path: Path) -> dict[str, object]:
    """A TOML file's table (pyproject.toml, a lock), bounded; unreadable or invalid TOML is an InputError."""
    try:
        return tomllib.loads(read_text_file(path, "TOML file"))
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path} is not valid TOML: {e}") from None


def read_pyproject(path: Path, extras: tuple[str, ...]) -> Requirements:
    reqs = pyproject_requirements(read_toml(path), extras, str(path))
    return Requirements("pyproject", path, tuple(reqs), extras)
