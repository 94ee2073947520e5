"""What a function's layers already provide: the distributions to leave out of the function,
and the version conflicts that make the pair unsafe (pure; docs/config.md, issue 11 item 4).

Lambda puts /var/task before /opt/python on sys.path, so a distribution in both the function
and a layer resolves to the function's copy while the layer's other packages were built and
tested against the layer's: the same version is shipped once (in the layer), a different one
is an error. Two layers with different versions of one distribution overwrite each other's
files in /opt (later layers win, file by file), which is an error too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = ["FromLayer", "LayerDist", "match_layers"]


@dataclass(frozen=True)
class LayerDist:
    """A distribution installed in a layer, where the runtime's Python finds it."""

    name: str  # as the dist-info spells it
    version: str
    layer: str  # the layer's name as the build shows it ("common", "layer 1 (deps.zip)")


@dataclass(frozen=True)
class FromLayer:
    """A distribution the function needs and takes from a layer instead of shipping it."""

    name: str
    version: str
    layer: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "layer": self.layer}


def _same(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def match_layers(needed: Sequence[tuple[str, str]],
                 provided: Sequence[LayerDist]) -> tuple[list[FromLayer], list[str]]:
    """`needed`: the function's distributions (name, version). Returns what the layers provide
    at the same version, and one message per conflict (empty: the build may go on)."""
    by_name: dict[str, LayerDist] = {}
    conflicts: list[str] = []
    for d in provided:
        key = canonicalize_name(d.name)
        seen = by_name.get(key)
        if seen is None:
            by_name[key] = d
        elif not _same(seen.version, d.version):
            conflicts.append(f"layers {seen.layer} and {d.layer} ship {d.name} {seen.version} and {d.version}: "
                             f"in /opt the later layer's files replace the earlier's one by one")
    taken: list[FromLayer] = []
    for name, version in needed:
        have = by_name.get(canonicalize_name(name))
        if have is None:
            continue
        if _same(have.version, version):
            taken.append(FromLayer(name, version, have.layer))
        else:
            conflicts.append(f"{name} {version} is a dependency of the function, but layer {have.layer} ships "
                             f"{name} {have.version}: the function's copy would shadow the layer's")
    return taken, conflicts
