"""Slimming: leave out files Lambda never needs, and strip debug info without risk.

Three profiles (``--slim none|safe|aggressive``, ``safe`` by default; see
:mod:`lambdapack.assemble.profiles`), plus the user's own ``--exclude``/``--keep``
patterns and ``--exclude-runtime-provided`` (:mod:`lambdapack.assemble.runtime_provided`).

Only dependency files are slimmed: an entry whose ``distribution`` is None (the user's
own code) is never removed or stripped, whatever the profile or pattern. Nothing in a
``*.dist-info`` folder is ever removed by a profile: packages read their own metadata
with ``importlib.metadata``.

:func:`plan_slim` decides from file names alone (pure). :func:`apply_slim` is the
edge: it strips copies, each verified before it ships (:mod:`lambdapack.assemble.strip`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from lambdapack.assemble.patterns import PathPattern
from lambdapack.assemble.profiles import SHARED_OBJECT, Profile, profile_reason
from lambdapack.assemble.strip import find_strip_tools, strip_one
from lambdapack.inspect.checks import dead_variants
from lambdapack.staged import StagedFile
from lambdapack.target.tags import Target

__all__ = ["Removal", "SlimPlan", "SlimResult", "SlimRules", "apply_slim", "plan_slim"]


@dataclass(frozen=True)
class Removal:
    arcname: str
    size: int
    distribution: str | None
    reason: str


@dataclass(frozen=True)
class SlimPlan:
    removals: tuple[Removal, ...]
    strip: tuple[str, ...]  # arcnames to strip (candidates by name; apply_slim verifies)

    @property
    def removed_bytes(self) -> int:
        return sum(r.size for r in self.removals)


@dataclass(frozen=True)
class SlimResult:
    entries: list[StagedFile]
    removals: list[Removal]
    stripped: list[tuple[str, int, int]]  # (arcname, bytes before, bytes after)
    kept_unstripped: list[tuple[str, str]]  # (arcname, why the original ships)
    strip_tools: tuple[str, ...] = ()  # the strip programs that were available, in order of use

    @property
    def saved_bytes(self) -> int:
        return sum(r.size for r in self.removals) + sum(b - a for _n, b, a in self.stripped)


@dataclass(frozen=True)
class SlimRules:
    """What the user asked for beyond the profile: --exclude, --keep, and the
    distributions --exclude-runtime-provided leaves out (any spelling of their names)."""

    excludes: Sequence[str] = ()
    keeps: Sequence[str] = ()
    drop_dists: Collection[str] = ()


# --- planning (pure) ----------------------------------------------------------------


def _dist_name(label: str) -> str:
    """StagedFile.distribution is "Display-Name version" (or a bare top-level name)."""
    return canonicalize_name(label.rsplit(" ", 1)[0] if " " in label else label)


def _matches(rel: PurePosixPath, arcname: str, pattern: str) -> bool:
    """An --exclude/--keep pattern on a dependency's file: its path below the site root,
    or its name in the zip (with the layer's python/ prefix) for a pattern with "/"."""
    return PathPattern(pattern).matches(str(rel), also=(arcname,))


@dataclass(frozen=True)
class _Planner:
    """The rules of one plan_slim call, applied to one dependency file at a time."""

    profile: Profile
    rules: SlimRules
    drop: frozenset[str]  # canonical names
    cache_tag: str  # the target's, "cpython-312"
    package_dirs: frozenset[str]
    dead: Mapping[str, str]  # arcname -> the variant of its module the target loads instead

    def kept(self, e: StagedFile, rel: PurePosixPath) -> bool:
        return any(_matches(rel, e.arcname, k) for k in self.rules.keeps)

    def reason(self, e: StagedFile, rel: PurePosixPath) -> str | None:
        """Why `e` is left out, in order of precedence; None: it ships."""
        assert e.distribution is not None
        if _dist_name(e.distribution) in self.drop:
            return "provided by the Lambda runtime (--exclude-runtime-provided)"
        pat = next((p for p in self.rules.excludes if _matches(rel, e.arcname, p)), None)
        if pat is not None:
            return f"--exclude {pat}"
        if rel.parts[0].endswith(".dist-info"):
            return None
        found = profile_reason(rel, self.profile, self.cache_tag, self.package_dirs)
        if found is None and self.profile is not Profile.NONE and e.arcname in self.dead:
            found = f"extension module for another Python, never loaded ({self.dead[e.arcname]} is)"
        return f"{self.profile.value}: {found}" if found is not None else None

    def strips(self, rel: PurePosixPath) -> bool:
        return (
            self.profile is Profile.AGGRESSIVE
            and SHARED_OBJECT.search(rel.name) is not None
            and not rel.parts[0].endswith(".dist-info")
        )


def _dependency_paths(entries: Sequence[StagedFile], dist_prefix: str) -> list[tuple[StagedFile, PurePosixPath]]:
    """Dependency entries under `dist_prefix`, each with its path below the site root."""
    deps: list[tuple[StagedFile, PurePosixPath]] = []
    for e in entries:
        if e.distribution is None or not e.arcname.startswith(dist_prefix):
            continue
        if len(e.arcname) > len(dist_prefix):
            deps.append((e, PurePosixPath(e.arcname[len(dist_prefix) :])))
    return deps


def _package_dirs(deps: list[tuple[StagedFile, PurePosixPath]]) -> frozenset[str]:
    """Folders that are (or contain) regular Python packages: never removed as "docs"."""
    package_dirs: set[str] = set()
    for _e, path in deps:
        if path.name == "__init__.py":
            parts = path.parts[:-1]
            for i in range(1, len(parts) + 1):
                package_dirs.add("/".join(parts[:i]))
    return frozenset(package_dirs)


def plan_slim(
    entries: Sequence[StagedFile],
    target: Target,
    profile: Profile,
    rules: SlimRules = SlimRules(),
    *,
    dist_prefix: str = "",
) -> SlimPlan:
    """What to leave out and what to strip (pure: file names only, nothing is read).

    Precedence: --keep wins over everything; then dropped distributions
    (--exclude-runtime-provided), then --exclude, then the profile's rules. Only
    dependency entries (distribution set, arcname under `dist_prefix`) are considered.
    """
    deps = _dependency_paths(entries, dist_prefix)
    planner = _Planner(
        profile,
        rules,
        frozenset(canonicalize_name(n) for n in rules.drop_dists),
        f"cpython-{target.runtime.python[0]}{target.runtime.python[1]}",
        _package_dirs(deps),
        # Siblings of every owner count: the variant that is loaded may be anyone's.
        dead_variants((e.arcname for e in entries if e.arcname.startswith(dist_prefix)), target),
    )
    removals: list[Removal] = []
    strip: list[str] = []
    for e, rel in deps:
        if planner.kept(e, rel):
            continue
        reason = planner.reason(e, rel)
        if reason is not None:
            removals.append(Removal(e.arcname, e.size, e.distribution, reason))
        elif planner.strips(rel):
            strip.append(e.arcname)
    return SlimPlan(tuple(removals), tuple(strip))


# --- applying the plan (the edge) -----------------------------------------------------


def apply_slim(
    entries: Sequence[StagedFile], plan: SlimPlan, target: Target, work: Path, *, jobs: int | None = None
) -> SlimResult:
    """Leave out the plan's removals and strip its candidates (copies under `work`).

    Returns the new entry list (same order; stripped entries point at their copies).
    A candidate that is not a readable ELF file for the target, has nothing to strip,
    or whose stripped copy fails verification ships unchanged.
    """
    removed = {r.arcname for r in plan.removals}
    wanted = set(plan.strip) - removed
    candidates = [e for e in entries if e.arcname in wanted]
    tools = find_strip_tools(target.arch.machine) if candidates else ()
    strip_dir = work / "slim-stripped"
    workers = max(1, min(jobs or (os.cpu_count() or 1), 32, len(candidates) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda e: strip_one(e, target, tools, strip_dir), candidates))
    new_by_name: dict[str, StagedFile] = {}
    stripped: list[tuple[str, int, int]] = []
    kept: list[tuple[str, str]] = []
    for e, (new, why) in zip(candidates, outcomes, strict=True):
        if new is not None:
            new_by_name[e.arcname] = new
            stripped.append((e.arcname, e.size, new.size))
        elif why is not None:
            kept.append((e.arcname, why))
    present = {e.arcname for e in entries}
    out = [new_by_name.get(e.arcname, e) for e in entries if e.arcname not in removed]
    return SlimResult(
        entries=out,
        removals=[r for r in plan.removals if r.arcname in present],
        stripped=stripped,
        kept_unstripped=kept,
        strip_tools=tools,
    )
