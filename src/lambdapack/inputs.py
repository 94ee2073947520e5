"""Dependency inputs: requirements.txt, pyproject.toml [project] tables, uv.lock.

Each becomes a `Requirements` value: a requirements file that uv installs, plus the
top-level requirements we parsed ourselves, so that after installing we can prove
that nothing requested for the target was dropped.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.requirements import Requirement

from .errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "Requirements",
    "find_default_input",
    "parse_requirements_text",
    "pyproject_requirements",
]


@dataclass(frozen=True)
class Requirements:
    kind: str  # "requirements" | "pyproject" | "lock" | "none"
    source: Path | None
    top_level: tuple[Requirement, ...]
    extras: tuple[str, ...] = ()
    included: tuple[Path, ...] = ()  # files pulled in with -r / -c, for cache keys

    def describe(self) -> str:
        if self.source is None:
            return "no dependencies"
        extra = f" (extras: {', '.join(self.extras)})" if self.extras else ""
        return f"{self.source} [{self.kind}]{extra}"


_OPTION_WITH_VALUE = re.compile(r"\s--hash[=\s]\S+")


def _logical_lines(text: str) -> list[str]:
    """Join backslash continuations and drop comments, as pip's parser does."""
    out: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        line = buf + line
        buf = ""
        # A comment starts at "#" preceded by whitespace or at line start.
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            out.append(line)
    if buf.strip():
        out.append(re.sub(r"(^|\s)#.*$", "", buf).strip())
    return out


def parse_requirements_text(text: str, base: Path, _seen: frozenset[Path] = frozenset()) -> list[Requirement]:
    """Top-level named requirements of a requirements file (follows -r includes).

    Options (--index-url, -c, --hash …) are uv's business; unnamed requirements
    (paths, URLs without #egg=) are installed but cannot be name-checked.
    """
    # Imported here, not at the top: a no-change rebuild never parses requirements.
    from packaging.requirements import InvalidRequirement, Requirement

    reqs: list[Requirement] = []
    for line in _logical_lines(text):
        m = re.match(r"^(-r|--requirement)[\s=]+(\S+)$", line)
        if m:
            inc = (base / m.group(2)).resolve()
            if inc in _seen:
                continue
            try:
                inc_text = inc.read_text(encoding="utf-8")
            except OSError as e:
                raise InputError(
                    f"cannot read {inc} (included from a requirements file): {e.strerror}",
                    "fix the -r path; it is relative to the including file",
                ) from None
            reqs += parse_requirements_text(inc_text, inc.parent, _seen | {inc})
            continue
        if line.startswith("-"):
            continue
        line = _OPTION_WITH_VALUE.sub("", " " + line).strip()
        try:
            reqs.append(Requirement(line))
        except InvalidRequirement:
            if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[|[<>=!~;]|$)", line):
                raise InputError(
                    f"invalid requirement {line!r}",
                    "use PEP 508 syntax, e.g. `requests>=2.31` or `six; python_version < '3.12'`",
                ) from None
            # A path or URL: uv installs it; we cannot know its name beforehand.
            continue
    return reqs


def read_requirements_file(path: Path) -> Requirements:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise InputError(
            f"cannot read requirements file {path}: {why}",
            "pass a readable requirements.txt with -r, or --pyproject / --lock",
        ) from None
    reqs = parse_requirements_text(text, path.parent, frozenset({path.resolve()}))
    return Requirements("requirements", path, tuple(reqs), (), tuple(_included_files(text, path.parent)))


def _included_files(text: str, base: Path, seen: frozenset[Path] = frozenset()) -> list[Path]:
    """Every file a requirements file pulls in (-r, -c), recursively."""
    out: list[Path] = []
    for line in _logical_lines(text):
        m = re.match(r"^(-r|--requirement|-c|--constraint)[\s=]+(\S+)$", line)
        if not m:
            continue
        inc = (base / m.group(2)).resolve()
        if inc in seen:
            continue
        out.append(inc)
        try:
            out += _included_files(inc.read_text(encoding="utf-8"), inc.parent, seen | {inc})
        except (OSError, UnicodeDecodeError):
            continue
    return out


def pyproject_requirements(data: dict[str, object], extras: tuple[str, ...], where: str) -> list[Requirement]:
    from packaging.requirements import InvalidRequirement, Requirement

    project = data.get("project")
    if not isinstance(project, dict):
        raise InputError(f"{where} has no [project] table", "add [project] dependencies, or use -r")
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


def read_pyproject(path: Path, extras: tuple[str, ...]) -> Requirements:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path} is not valid TOML: {e}") from None
    reqs = pyproject_requirements(data, extras, str(path))
    return Requirements("pyproject", path, tuple(reqs), extras)


def find_default_input(src: Path) -> Path | None:
    """Without a dependency option, the first of uv.lock, pyproject.toml, requirements.txt."""
    for name in ("uv.lock", "pyproject.toml", "requirements.txt"):
        if (src / name).is_file():
            if name == "pyproject.toml" and not _has_project_deps(src / name):
                continue
            return src / name
    return None


def _has_project_deps(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True  # let the real read report the problem
    project = data.get("project")
    return isinstance(project, dict) and ("dependencies" in project)
