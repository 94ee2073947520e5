"""Which dependency input a source directory means when none is given, and which lock format a
`--lock` file is (by its name). The strongest source wins: a lock before its project file;
what else was found is said, and a format we recognise but cannot read is an error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdapack.errors import InputError, UsageError
from lambdapack.resolve.pyprojectfile import read_toml

__all__ = ["Choice", "choose_default_input", "lock_format", "refuse_lock_as_requirements"]

# Strongest first: (file name, tool, input kind).
_CANDIDATES = (
    ("uv.lock", "uv", "lock"),
    ("poetry.lock", "Poetry", "lock"),
    ("Pipfile.lock", "pipenv", "lock"),
    ("pylock.toml", "PEP 751", "lock"),
    ("pyproject.toml", "pyproject", "pyproject"),
    ("requirements.txt", "pip", "requirements"),
)
_LOCK_OF = {"uv.lock": "uv", "poetry.lock": "poetry", "Pipfile.lock": "pipenv", "pylock.toml": "pylock"}


@dataclass(frozen=True)
class Choice:
    kind: str  # "requirements" | "pyproject" | "lock"
    path: Path
    note: str  # for the progress line: why this one, and what was left alone


def lock_format(path: Path) -> str:
    """"uv" | "poetry" | "pipenv" | "pylock" for a `--lock` file, by its name (PEP 751: pylock.*.toml)."""
    name = path.name
    if name in _LOCK_OF:
        return _LOCK_OF[name]
    if name.startswith("pylock.") and name.endswith(".toml"):
        return "pylock"
    raise UsageError(f"--lock {path}: not a lock file lambdapack knows by its name",
                     "pass uv.lock, poetry.lock, Pipfile.lock or pylock.toml (or -r for a requirements file)")


def refuse_lock_as_requirements(path: Path) -> None:
    """`-r Pipfile`, `-r poetry.lock` …: not requirements files; say which option reads them."""
    name = path.name
    if name in ("Pipfile", "Pipfile.lock"):
        raise UsageError(f"-r {path}: a {name} is not a requirements file",
                         "pass --lock Pipfile.lock (run `pipenv lock` first if there is none)")
    if name in _LOCK_OF or (name.startswith("pylock.") and name.endswith(".toml")):
        raise UsageError(f"-r {path}: a lock file is not a requirements file", f"pass --lock {path}")
    if name == "pyproject.toml":
        raise UsageError(f"-r {path}: pyproject.toml is not a requirements file", f"pass --pyproject {path}")


def _pyproject_facts(path: Path) -> tuple[bool, bool]:
    """(static [project].dependencies, Poetry-only dependencies in [tool.poetry])."""
    data: dict[str, Any] = read_toml(path)
    project = data.get("project")
    static = isinstance(project, dict) and "dependencies" in project
    poetry = data.get("tool", {}).get("poetry", {})
    poetry_deps = {k for k in poetry.get("dependencies", {}) if k != "python"} if isinstance(poetry, dict) else set()
    return static, bool(poetry_deps)


def choose_default_input(src: Path) -> Choice | None:
    """The input to use from `src`, None when it holds none; an InputError for an unreadable one."""
    present = [c for c in _CANDIDATES if (src / c[0]).is_file()]
    static, poetry_only = _pyproject_facts(src / "pyproject.toml") if (src / "pyproject.toml").is_file() else (
        False, False)
    locks = [c for c in present if c[2] == "lock"]
    if not locks:
        _refuse_unlocked(src, static, poetry_only)
    usable = [c for c in present if c[0] != "pyproject.toml" or static or locks]
    if not usable:
        return None
    name, _tool, kind = usable[0]
    ignored = [f"{n} ({t})" for n, t, _k in usable[1:] if not (n == "pyproject.toml" and kind == "lock")]
    why = "found in the source directory"
    if (kind == "lock" and (src / "pyproject.toml").is_file()) or name == "Pipfile.lock":
        why += ": a lock is used before its project file"
    if ignored:
        why += f"; ignored: {', '.join(ignored)}; pass -r, --pyproject or --lock to choose"
    return Choice(kind, src / name, why)


def _refuse_unlocked(src: Path, static: bool, poetry_only: bool) -> None:
    """A Pipfile or a Poetry project without its lock: we would read nothing from it."""
    alt = " (or pass -r requirements.txt)" if (src / "requirements.txt").is_file() else ""
    if (src / "Pipfile").is_file():
        raise InputError(f"{src / 'Pipfile'} has no Pipfile.lock beside it; lambdapack installs what pipenv "
                         "locked", f"run `pipenv lock` in {src}{alt}")
    if poetry_only and not static:
        raise InputError(f"{src / 'pyproject.toml'} declares Poetry dependencies but has no poetry.lock "
                         "beside it", f"run `poetry lock` in {src}{alt}")
