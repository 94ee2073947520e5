"""Held-back report: where the target gets an older version than a laptop would.

"A laptop" is the same requirements and Python version resolved for a current Linux
of the same architecture (manylinux_2_40, binary wheels): what `pip install` gives
on a developer's machine today. When the target's version is older, the reason is read
from the project's files on the locations the build used (`indexlisting`: one page per
project, every version on it): why the newest does not fit, and which newer version
than the chosen one would. Deciding is pure (`explain_project`); the lookups run in
`find_held_back`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from lambdapack.resolve.ceiling import Ceiling, keeps
from lambdapack.resolve.distributions import Distribution
from lambdapack.resolve.indexlisting import IndexFile, Listing, project_files, project_of
from lambdapack.target.tags import Target, closeness, explain_tag

__all__ = ["LAPTOP_MANYLINUX", "HeldBack", "explain_project", "find_held_back", "laptop_platform"]

log = logging.getLogger(__name__)
LAPTOP_MANYLINUX = (2, 40)
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")  # the aliases (1, 2010, 2014) are all below 2.26


@dataclass(frozen=True)
class HeldBack:
    name: str
    chosen: str
    newest: str
    reason: str
    fits: str | None = None  # the newest version newer than `chosen` that has a fitting file

    def as_dict(self) -> dict[str, str]:
        """The cache's form (a map of strings: `fits` left out when there is none)."""
        out = {"name": self.name, "chosen": self.chosen, "newest": self.newest, "reason": self.reason}
        return out if self.fits is None else {**out, "fits": self.fits}

    def as_json(self) -> dict[str, str | None]:
        """The build report's form: `fits` always present, null when no newer version fits."""
        return {**self.as_dict(), "fits": self.fits}


def laptop_platform(target: Target) -> str:
    return f"{target.arch.machine}-manylinux_{LAPTOP_MANYLINUX[0]}_{LAPTOP_MANYLINUX[1]}"


def _tags(filename: str) -> frozenset[Tag] | None:
    try:
        return parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return None


def _python_ok(f: IndexFile, target: Target) -> bool:
    if f.requires_python is None:
        return True
    try:
        return SpecifierSet(f.requires_python).contains(f"{target.runtime.version}.0", prereleases=True)
    except InvalidSpecifier:
        return True  # uv ignores a specifier it cannot read; so do we


def _fits(f: IndexFile, target: Target, uv_glibc: tuple[int, int]) -> bool:
    """A file uv would install on the target: a wheel with an accepted tag, within the glibc
    uv resolved for, not yanked, and for the runtime's Python."""
    tags = _tags(f.filename)
    if f.yanked or tags is None or not _python_ok(f, target):
        return False
    within = keeps(f.filename, Ceiling(uv_glibc, target.arch.machine, uv_glibc))
    return within and any(t in target.tag_rank for t in tags)


def _versions(files: Sequence[IndexFile]) -> dict[Version, list[IndexFile]]:
    out: dict[Version, list[IndexFile]] = {}
    for f in files:
        parsed = project_of(f.filename)
        if parsed is not None:
            out.setdefault(parsed[1], []).append(f)
    return out


def _glibc_only(tags: frozenset[Tag], target: Target) -> list[tuple[int, int]]:
    """The glibc versions of the tags that miss the target only by their glibc (pure)."""
    return [(int(m[1]), int(m[2])) for t in tags
            if (m := _MANYLINUX.match(t.platform)) and m[3] == target.arch.machine
            and Tag(t.interpreter, t.abi, target.platforms[0]) in target.tag_rank]


def _why_not(name: str, newest: str, files: Sequence[IndexFile], target: Target,
             uv_glibc: tuple[int, int]) -> str:
    """One line: why no file of `name` `newest` is installed on the target (pure)."""
    rt = target.runtime
    live = [f for f in files if not f.yanked]
    if not live:
        return f"could not list the files of {name} {newest} on the indexes the build used"
    if not any(_python_ok(f, target) for f in live):
        spec = next(f.requires_python for f in live if f.requires_python)
        return f"{name} {newest} requires Python {spec}; {rt.name} is Python {rt.version}"
    wheels = [(f, t) for f in live if _python_ok(f, target) and (t := _tags(f.filename)) is not None]
    if not wheels:
        return f"{name} {newest} has only a source distribution (builds from source are off)"
    glibc = ".".join(map(str, rt.glibc))
    fitting = [f for f, _t in wheels if _fits(f, target, uv_glibc)]
    if fitting:
        return f"{name} {newest} has a fitting wheel, but a requirement keeps {name} older"
    if any(t in target.tag_rank for _f, tags in wheels for t in tags):
        u = ".".join(map(str, uv_glibc))
        return (f"{name} {newest} has a wheel for glibc {glibc}, but uv resolved for manylinux {u}, "
                f"its nearest target below it (the exact ceiling is off when uv runs offline)")
    # Wheels kept out only by glibc (the same tag with the runtime's own platform would fit),
    # each by the lowest glibc it names.
    needs = sorted({min(g) for _f, tags in wheels if (g := _glibc_only(tags, target))})
    if needs:
        lowest = f"manylinux_{needs[0][0]}_{needs[0][1]}" + (" and newer" if len(needs) > 1 else "")
        return f"{name} {newest} ships only {lowest} wheels; {rt.name} ({rt.os}) has glibc {glibc}"
    best = min((t for _f, tags in wheels for t in tags), key=lambda t: closeness(t, target))
    return f"no wheel of {name} {newest} fits {target}: closest is {best} ({'; '.join(explain_tag(best, target))})"


def explain_project(name: str, chosen: str, newest: str, files: Sequence[IndexFile] | None,
                    target: Target, uv_glibc: tuple[int, int]) -> HeldBack:
    """The held-back note of one project from all of its files (pure): why `newest` is not
    installed, and the newest version above `chosen` that would fit, if any."""
    if files is None:
        return HeldBack(name, chosen, newest, f"could not list the files of {name} on the indexes the build used")
    by_version = _versions(files)
    try:
        low, high = Version(chosen), Version(newest)
    except InvalidVersion:
        return HeldBack(name, chosen, newest, f"cannot compare the versions {chosen} and {newest} of {name}")
    reason = _why_not(name, newest, by_version.get(high, []), target, uv_glibc)
    candidates = [v for v, fs in by_version.items() if low < v <= high and (not v.is_prerelease or high.is_prerelease)
                  and any(_fits(f, target, uv_glibc) for f in fs)]
    fits = str(max(candidates)) if candidates else None
    if fits is not None and fits != str(high):
        reason += f"; {fits} would fit, but a requirement keeps {name} at {chosen}"
    return HeldBack(name, chosen, newest, reason, fits)


def find_held_back(
    installed: Sequence[Distribution],
    laptop: Mapping[str, str],
    target: Target,
    listing: Listing,
    uv_glibc: tuple[int, int],
    timeout: float = 10.0,
) -> list[HeldBack]:
    """Compare the target's versions with the laptop's; explain each older one from one page
    per project on the locations the build used (`uv_glibc`: the manylinux uv resolved for)."""
    older: list[tuple[Distribution, str]] = []
    for d in installed:
        newest = laptop.get(d.name)
        if newest is None:
            continue
        try:
            if Version(newest) > Version(d.version):
                older.append((d, newest))
        except InvalidVersion:
            continue
    if not older:
        return []
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(lambda dn: project_files(listing, dn[0].name, timeout), older))
    return [explain_project(d.display_name, d.version, newest, files, target, uv_glibc)
            for (d, newest), files in zip(older, pages, strict=True)]
