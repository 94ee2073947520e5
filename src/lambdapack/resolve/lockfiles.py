"""What every lock format becomes: exact pins with their hashes and markers, written as the
requirements file uv installs, and the `Requirements` that checks nothing was dropped.

Markers stay for uv to evaluate for the target; only the parts a lock adds that a requirements
file cannot say (`extra == "x"` in poetry.lock, `'x' in extras` / `'g' in dependency_groups` in
pylock.toml) are decided here, from the extras and groups the build asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from lambdapack.errors import InputError
from lambdapack.resolve.inputs import Requirements

__all__ = ["NEVER", "Pin", "locked_requirements", "pin_line", "reduce_marker"]


@dataclass(frozen=True)
class Pin:
    """One locked distribution: `name==version`, or a direct reference (`url`: a path, git or URL)."""

    name: str
    version: str | None
    marker: str | None = None  # PEP 508, for uv to evaluate for the target
    hashes: tuple[str, ...] = ()  # "sha256:<hex>"
    url: str | None = None


def pin_line(pin: Pin) -> str:
    """The requirements-file line uv installs for `pin` (pure)."""
    spec = f"{pin.name} @ {pin.url}" if pin.url else f"{pin.name}=={pin.version}"
    if pin.marker:
        spec += f" ; {pin.marker}"
    return spec + "".join(f" \\\n    --hash={h}" for h in pin.hashes)


def locked_requirements(
    source: Path, pins: Sequence[Pin], extras: tuple[str, ...], out: Path, index_lines: Iterable[str] = ()
) -> Requirements:
    """Write the pins as `out` (what uv reads) and return them as the build's `Requirements`."""
    from packaging.requirements import InvalidRequirement, Requirement

    lines = [*index_lines, *(pin_line(p) for p in sorted(pins, key=lambda p: p.name.lower()))]
    out.write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
    top: list[Requirement] = []
    for p in pins:
        text = pin_line(Pin(p.name, p.version, p.marker, (), p.url))
        try:
            top.append(Requirement(text))
        except InvalidRequirement as e:
            raise InputError(f"{source}: cannot read the entry for {p.name!r}: {e}",
                             "regenerate the lock file with its tool") from None
    return Requirements("lock", source, tuple(top), extras)


# ------------------------------------------------------------------ lock-only markers

NEVER = "never"  # reduce_marker's answer for a marker that is false whatever the target


def reduce_marker(marker: str | None, extras: frozenset[str], groups: frozenset[str] = frozenset()) -> str | None:
    """`marker` with its extra/group conditions decided: None (always), NEVER, or what is left
    for uv. `extra == "x"` is true for a requested extra, as are `'x' in extras` and
    `'g' in dependency_groups` (PEP 751); everything else is kept as written."""
    if not marker or marker.strip() in ("", "*"):
        return None
    from packaging.markers import InvalidMarker, Marker

    try:
        parsed = Marker(marker)
    except InvalidMarker as e:
        raise InputError(f"invalid marker {marker!r} in a lock file: {e}") from None
    result = _reduce(parsed._markers, extras, groups)  # packaging's parsed form, stable since 22
    if result is True:
        return None
    if result is False:
        return NEVER
    return result


def _reduce(items: Sequence[object], extras: frozenset[str], groups: frozenset[str]) -> bool | str:
    """One level of packaging's marker list: atoms, nested lists, "and"/"or" ("and" binds tighter)."""
    alternatives: list[list[bool | str]] = [[]]
    for item in items:
        if item == "or":
            alternatives.append([])
        elif item != "and":
            alternatives[-1].append(_term(item, extras, groups))
    kept: list[str] = []
    for terms in alternatives:
        if any(t is False for t in terms):
            continue
        rest = [t for t in terms if isinstance(t, str)]
        if not rest:
            return True  # one alternative holds whatever the target
        kept.append(" and ".join(rest))
    if not kept:
        return False
    return kept[0] if len(kept) == 1 else " or ".join(f"({k})" for k in kept)


def _term(item: object, extras: frozenset[str], groups: frozenset[str]) -> bool | str:
    if isinstance(item, list):
        inner = _reduce(item, extras, groups)
        return inner if isinstance(inner, bool) else f"({inner})"
    lhs, op, rhs = cast("tuple[Any, Any, Any]", item)  # packaging's Variable/Value, Op, Variable/Value
    left, oper, right = str(lhs.value), str(op.value), str(rhs.value)
    names = {"extra": extras, "extras": extras, "dependency_groups": groups}
    for var, val in ((left, right), (right, left)):
        if var in names and type(lhs).__name__ != type(rhs).__name__:
            chosen = names[var]
            if oper in ("==", "!="):
                from packaging.utils import canonicalize_name

                hit = canonicalize_name(val) in {canonicalize_name(x) for x in chosen}
                return hit if oper == "==" else not hit
            if oper in ("in", "not in") and var in ("extras", "dependency_groups"):
                hit = val in chosen
                return hit if oper == "in" else not hit
    return f"{lhs.serialize()} {op.serialize()} {rhs.serialize()}"
