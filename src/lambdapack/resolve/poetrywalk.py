"""Poetry 1.x lock files (lock formats before 2.1), which do not say which group a package
belongs to: walked from `[tool.poetry.dependencies]` along each package's dependencies, the
markers of a path joined with "and" and the paths to one package with "or" (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lambdapack.errors import InputError
from lambdapack.resolve.lockfiles import NEVER, reduce_marker

__all__ = ["python_marker", "walk"]

_HINT = "run `poetry lock` with Poetry 2 (lock format 2.1), or pass -r with `poetry export` output"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
Edge = tuple[str, str | None, frozenset[str]]  # (canonical name, marker, extras asked of it)


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def walk(
    packages: list[dict[str, Any]], pyproject: Mapping[str, Any], lock_extras: Mapping[str, list[str]],
    extras: frozenset[str],
) -> list[tuple[dict[str, Any], str | None]]:
    by_name: dict[str, dict[str, Any]] = {}
    for pkg in packages:
        key = _canon(str(pkg.get("name", "")))
        if key in by_name:
            raise InputError(f"poetry.lock lists several versions of {pkg.get('name')}; lambdapack reads "
                             "those only from lock format 2.1", _HINT)
        by_name[key] = pkg
    wanted = {_canon(n) for e in extras for n in lock_extras.get(e, [])}
    deps = dict(pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}))
    deps.pop("python", None)
    todo: list[Edge] = [e for n, spec in deps.items() for e in _edges(n, spec, None, wanted, frozenset())]
    paths: dict[str, set[str | None]] = {}
    seen: set[Edge] = set()
    while todo:
        edge = todo.pop()
        name, marker, asked = edge
        if edge in seen or name not in by_name:
            continue
        seen.add(edge)
        paths.setdefault(name, set()).add(marker)
        pkg = by_name[name]
        optional_ok = {_canon(_req_name(r)) for e in asked for r in pkg.get("extras", {}).get(e, [])}
        for dep, spec in pkg.get("dependencies", {}).items():
            todo += _edges(dep, spec, marker, optional_ok, asked)
    return [(by_name[n], _any_of(m)) for n, m in sorted(paths.items())]


def _edges(name: str, spec: object, parent: str | None, optional_ok: set[str], asked: frozenset[str]) -> list[Edge]:
    """The edges one dependency entry adds (a list of constraints is one edge each)."""
    out: list[Edge] = []
    for one in spec if isinstance(spec, list) else [spec]:
        entry: dict[str, Any] = one if isinstance(one, dict) else {"version": one}
        if entry.get("optional") and _canon(name) not in optional_ok:
            continue
        own = reduce_marker(entry.get("markers"), asked)
        if own == NEVER:
            continue
        python = python_marker(str(entry["python"])) if entry.get("python") else None
        marker = _all_of([parent, own, python])
        out.append((_canon(name), marker, frozenset(entry.get("extras", []))))
    return out


def _all_of(markers: list[str | None]) -> str | None:
    parts = [m for m in markers if m]
    return parts[0] if len(parts) == 1 else " and ".join(f"({m})" for m in parts) or None


def _any_of(markers: set[str | None]) -> str | None:
    if None in markers:
        return None
    parts = sorted(m for m in markers if m)
    return parts[0] if len(parts) == 1 else " or ".join(f"({m})" for m in parts)


def _req_name(text: str) -> str:
    m = _NAME.match(text)
    return m.group(1) if m else text


_CLAUSE = re.compile(r"^(\^|~=|~|>=|<=|==|!=|>|<|=)?\s*([0-9][0-9.]*\*?|\*)$")


def python_marker(constraint: str) -> str | None:
    """A Poetry python constraint ("^3.8", ">=3.8,<3.12", "3.9.*", "~3.10", "a || b") as a marker."""
    alternatives = []
    for alt in constraint.split("||"):
        terms = []
        for clause in re.split(r"[,\s]+(?=[\^~<>=!0-9*])", alt.strip()):
            terms += _clause(clause.strip(), constraint)
        if not terms:
            return None  # "*": any Python
        alternatives.append(" and ".join(terms))
    return alternatives[0] if len(alternatives) == 1 else " or ".join(f"({a})" for a in alternatives)


def _clause(clause: str, whole: str) -> list[str]:
    m = _CLAUSE.match(clause)
    if m is None:
        raise InputError(f"poetry: cannot read the python constraint {whole!r}", _HINT)
    op, ver = m.group(1) or "==", m.group(2)
    if ver == "*":
        return []
    var = 'python_full_version'
    parts = [int(p) for p in ver.rstrip(".*").split(".") if p]
    if op in ("^", "~"):
        upper = [parts[0] + 1] if (op == "^" and parts[0] > 0) or len(parts) == 1 else [parts[0], parts[1] + 1]
        return [f'{var} >= "{ver}"', f'{var} < "{".".join(map(str, upper))}"']
    return [f'{var} {"==" if op == "=" else op} "{ver}"']
