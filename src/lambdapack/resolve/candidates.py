"""Which wheel of a requirement a target would get, and why not the newest: `lambdapack why numpy`.

Deciding is pure (`parse_requirement`, `select`): a project's files (as `indexlisting` reads
them, in uv's order of locations) grouped by release, the releases the specifier allows, each
wheel's verdict for the target (`tags.why`), the one the installer would pick (the best-ranked
accepted tag, as a build ranks them: `Target.tag_rank`), and the newest release that fits.
Yanked files are skipped as uv skips them (PEP 592): unless the requirement pins that exact
version. `read_files` is the I/O edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from lambdapack.errors import BuildError, InputError, UsageError
from lambdapack.resolve.indexlisting import (
    IndexFile,
    Listing,
    flat_files,
    project_files,
    project_of,
    search_order,
)
from lambdapack.resolve.install import InstallOptions, effective_locations
from lambdapack.resolve.uvfailure import hide_credentials
from lambdapack.target.tags import Target, closeness, explain_tag, why

__all__ = ["SHOWN", "Candidate", "Release", "Selection", "parse_requirement", "pinned", "read_files", "select"]

SHOWN = 5  # releases listed when the requirement does not pin one


@dataclass(frozen=True)
class Candidate:
    """One file of a release and its verdict for the target."""

    filename: str
    compatible: bool  # uv would consider it: an accepted tag, the runtime's Python, not skipped as yanked
    reason: str  # one line: the accepted tag and its rank, or what does not fit
    tag: str | None = None  # the accepted tag, or the wheel's tag closest to fitting
    rank: int | None = None  # 1-based place of the accepted tag in the target's preference order
    problems: tuple[str, ...] = ()
    yanked: bool = False
    wheel: bool = True


@dataclass(frozen=True)
class Release:
    version: str
    files: tuple[Candidate, ...]
    install: Candidate | None  # the wheel the installer would pick
    why_not: str | None  # one line when nothing fits

    @property
    def sdist_only(self) -> bool:
        return bool(self.files) and not any(c.wheel for c in self.files)


@dataclass(frozen=True)
class Selection:
    project: str
    releases: tuple[Release, ...]  # newest first
    newest: str | None  # the newest release the specifier allows
    fits: Release | None  # the newest allowed release with a wheel that installs


def parse_requirement(text: str) -> Requirement:
    """The requirement on the command line; a URL or an unreadable one is a usage error."""
    try:
        req = Requirement(text)
    except InvalidRequirement as e:
        raise UsageError(f"not a wheel file name or a requirement: {text!r} ({str(e).splitlines()[0]})",
                         "pass a requirement like numpy, numpy==2.0.2 or 'numpy>=1.26,<2', "
                         "or a wheel file name like name-1.0-cp312-cp312-manylinux_2_17_x86_64.whl") from None
    if req.url:
        raise UsageError(f"{text!r} names a URL, not a release on an index",
                         "pass the wheel's file name instead, or a requirement like name==1.0")
    return req


def pinned(spec: SpecifierSet) -> str | None:
    """The one version an `==V` / `===V` specifier pins (no wildcard), else None (pure)."""
    specs = list(spec)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and not specs[0].version.endswith(".*"):
        return specs[0].version
    return None


def _python_ok(requires: str | None, target: Target) -> bool:
    if requires is None:
        return True
    try:
        return SpecifierSet(requires).contains(f"{target.runtime.version}.0", prereleases=True)
    except InvalidSpecifier:
        return True  # uv ignores a specifier it cannot read


def judge(f: IndexFile, target: Target, yanked_ok: bool) -> Candidate:
    """One file's verdict (pure): `tags.why` for a wheel, then Requires-Python and yanking."""
    skip = f.yanked and not yanked_ok
    if not f.filename.endswith(".whl"):
        return Candidate(f.filename, False, "source distribution: a build installs it only with --allow-sdist (when pure Python) or --build-native",
                         yanked=f.yanked, wheel=False)
    verdict = why(f.filename, target)
    tag = next(iter(parse_tag(verdict.tag))) if verdict.tag else None
    rank = target.tag_rank[tag] + 1 if verdict.compatible and tag is not None else None
    problems = explain_tag(tag, target) if not verdict.compatible and tag is not None else []
    if not _python_ok(f.requires_python, target):
        problems.append(f"requires Python {f.requires_python}, the runtime is {target.runtime.version}")
    if skip:
        problems.append("yanked (uv skips it unless the requirement pins this version)")
    ok = verdict.compatible and not problems
    reason = verdict.reason.split(": ", 1)[1] if ok else "; ".join(problems)
    return Candidate(f.filename, ok, reason, verdict.tag, rank if ok else None, tuple(problems), f.yanked)


def _has_python(wheels: Sequence[str], target: Target) -> bool:
    """Whether some wheel is for the runtime's Python and ABI on some platform (pure)."""
    home = target.platforms[0]
    return any(Tag(t.interpreter, t.abi, home) in target.tag_rank or (t.platform == "any" and t in target.tag_rank)
               for w in wheels for t in parse_wheel_filename(w)[3])


def why_not(name: str, version: str, files: Sequence[Candidate], target: Target) -> str:
    """One line: why no file of this release installs on the target (pure)."""
    head = f"{name} {version}"
    wheels = [c for c in files if c.wheel]
    if not wheels:
        return f"{head} has only a source distribution (no wheel)"
    live = [c for c in wheels if not (c.yanked and "yanked" in " ".join(c.problems))]
    if not live:
        return f"{head}: every wheel is yanked"
    if not _has_python([c.filename for c in live], target):
        return f"{head} has no wheel for {target.runtime.python_tag} (Python {target.runtime.version})"
    best = min(live, key=lambda c: (closeness(next(iter(parse_tag(c.tag or "py3-none-any"))), target), c.filename))
    return f"{head} has no wheel that fits {target}: closest is {best.tag} ({best.reason})"


def _release(name: str, version: Version, files: Sequence[IndexFile], target: Target, yanked_ok: bool) -> Release:
    judged = tuple(sorted((judge(f, target, yanked_ok) for f in files), key=lambda c: c.filename))
    ok = [c for c in judged if c.compatible]
    install = min(ok, key=lambda c: (c.rank, c.filename)) if ok else None
    return Release(str(version), judged, install, None if install else why_not(name, str(version), judged, target))


def select(name: str, files: Sequence[IndexFile], spec: SpecifierSet, target: Target,
           shown: int = SHOWN) -> Selection:
    """The releases `spec` allows, newest first (a pinned one alone, else the newest `shown`),
    each judged for the target, and the newest allowed release that fits (pure)."""
    by_version: dict[Version, list[IndexFile]] = {}
    for f in files:
        parsed = project_of(f.filename)
        if parsed is not None:
            by_version.setdefault(parsed[1], []).append(f)
    pin = pinned(spec)
    # A release whose every file is yanked is gone for uv, unless pinned.
    live = [v for v, fs in by_version.items() if pin is not None or not all(f.yanked for f in fs)]
    allowed = sorted(spec.filter(live), reverse=True)  # packaging: pre-releases only when nothing else
    releases = [_release(name, v, by_version[v], target, pin is not None) for v in allowed]
    fits = next((r for r in releases if r.install is not None), None)
    listed = releases[:1] if pin is not None else releases[:shown]
    if fits is not None and fits not in listed:
        listed.append(fits)
    return Selection(name, tuple(listed), str(allowed[0]) if allowed else None, fits)


def read_files(name: str, install: InstallOptions, environ: Mapping[str, str], timeout: float) -> list[IndexFile]:
    """The project's files on the locations a build would use (the network edge): the indexes
    in uv's order and the --find-links locations. Unreachable: BuildError (exit 1, as build);
    no such project anywhere: InputError (exit 2)."""
    locs = effective_locations(install, environ)
    indexes, every = search_order(locs, environ)
    listing = Listing(indexes, flat_files(locs.find_links, timeout), every)
    found = project_files(listing, name, timeout)
    where = ", ".join(hide_credentials(i) for i in (*indexes, *locs.find_links))
    if found is None:
        raise BuildError(f"could not read the index for {name} ({where})",
                         "check the network, a proxy, or --index-url; raise --network-timeout if it is only slow")
    if not found:
        raise InputError(f"no project named {name} on {where}",
                         "check the spelling (or pass --index-url / --find-links for a private index)")
    return found
