"""An install, and its life in the resolution cache: stored per distribution after uv ran,
loaded back whole (or not at all) when the same inputs are built again."""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.cache.keys import digest, dist_key, files_key
from lambdapack.pack.members import file_sha256
from lambdapack.resolve.distributions import Distribution, missing_requirements
from lambdapack.resolve.inputs import Requirements
from lambdapack.target.tags import Target

if TYPE_CHECKING:
    from lambdapack.cache.records import ResolutionRecord
    from lambdapack.cache.store import CacheStore
    from lambdapack.pipeline.result import NativeBuild
    from lambdapack.resolve.heldback import HeldBack

__all__ = ["Installed", "fully_pinned", "load_installed", "remember_held_back", "store_installed"]


@dataclass
class Installed:
    reqs: Requirements
    dists: list[Distribution]
    files: list[tuple[str, Path, bool, str | None]]  # (rel, path, executable, owner label)
    shas: dict[str, str]  # rel -> content sha256, when known
    held_back: list[HeldBack] | None  # None: not computed yet
    laptop: dict[str, str]
    source: str  # "cache" or "uv"
    # The cached resolution record, when there is one: its key and a digest of its
    # distributions (the no-change shortcut checks the record still says the same).
    resolution: tuple[str, str] | None = None
    # What --build-native built (or took from the wheel cache) for this install; never stored.
    native_builds: list[NativeBuild] = field(default_factory=list)


def fully_pinned(reqs: Requirements) -> bool:
    """Lock files and requirement sets where every line is an exact pin."""
    if reqs.kind == "lock":
        return True
    return bool(reqs.top_level) and all(
        any(s.operator in ("==", "===") and "*" not in s.version for s in r.specifier) for r in reqs.top_level
    )


def _dist_key(d: Distribution, index: str | None) -> str:
    return dist_key(index, d.name, d.version, d.tags, f"{d.dist_info}#{d.record_sha256}")  # content, not only name


def store_installed(cache: CacheStore, inst: Installed, index: str | None, res_key: str) -> Installed:
    """Put each distribution's files in the cache and remember the resolution."""
    from lambdapack.cache.records import DistRecord, ResolutionRecord

    by_label: dict[str | None, list[tuple[str, Path, bool]]] = {}
    for rel, path, exe, label in inst.files:
        by_label.setdefault(label, []).append((rel, path, exe))
    records: list[DistRecord] = []
    files: list[tuple[str, Path, bool, str | None]] = []
    shas: dict[str, str] = {}
    labels = [f"{d.display_name} {d.version}" for d in inst.dists]
    keys = [_dist_key(d, index) for d in inst.dists]
    groups = [by_label.pop(label, []) for label in labels]
    # Storing hashes every file (135 MB for numpy+pandas); hashlib releases the GIL, so the
    # distributions are stored side by side, one thread per core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        saved = list(pool.map(cache.save_dist, keys, groups))
    for d, label, key, stored in zip(inst.dists, labels, keys, saved, strict=True):
        records.append(DistRecord(key, label, d.name, d.display_name, d.version, tuple(d.tags), d.dist_info))
        for f in stored.files:
            files.append((f.rel, stored.root / f.rel, f.executable, label))
            shas[f.rel] = f.sha256
    # Files no RECORD claims (rare: namespace __init__ files written by tools) go in
    # one extra entry keyed by their content, attributed to their top-level folder.
    leftovers = [item for group in by_label.values() for item in group]
    if leftovers:
        key = files_key([(rel, file_sha256(p), exe) for rel, p, exe in leftovers])
        stored = cache.save_dist(key, leftovers)
        records.append(DistRecord(key, None, "", "", "", (), ""))
        for f in stored.files:
            files.append((f.rel, stored.root / f.rel, f.executable, f.rel.split("/", 1)[0]))
            shas[f.rel] = f.sha256
    record = ResolutionRecord(tuple(records), dict(inst.laptop))
    cache.save_resolution(res_key, record)
    return Installed(inst.reqs, inst.dists, files, shas, None, inst.laptop, "uv",
                     (res_key, digest(record.dists_json())), inst.native_builds)


def load_installed(cache: CacheStore, hit: ResolutionRecord, reqs: Requirements, target: Target) -> Installed | None:
    """The cached install, or None when any part is missing, damaged or inconsistent."""
    try:
        inst = _load_unchecked(cache, hit, reqs)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None  # a damaged held-back entry is a miss, never a crash
    if inst is None or (reqs.top_level and not inst.dists):
        return None
    if missing_requirements(reqs.top_level, inst.dists, target):
        return None  # a requested package must never be dropped, cached or not
    return inst


def _load_unchecked(cache: CacheStore, hit: ResolutionRecord, reqs: Requirements) -> Installed | None:
    dists: list[Distribution] = []
    files: list[tuple[str, Path, bool, str | None]] = []
    shas: dict[str, str] = {}
    for rec in hit.dists:
        stored = cache.load_dist(rec.key)
        if stored is None:
            return None  # pruned or damaged: install again
        if rec.name:
            dists.append(Distribution(rec.name, rec.display_name, rec.version, rec.tags, rec.dist_info, ()))
        for f in stored.files:
            files.append((f.rel, stored.root / f.rel, f.executable, rec.label or f.rel.split("/", 1)[0]))
            shas[f.rel] = f.sha256
    from lambdapack.resolve.heldback import HeldBack
    held_back = [HeldBack(**h) for h in hit.held_back] if hit.held_back is not None else None
    return Installed(reqs, dists, files, shas, held_back, dict(hit.laptop), "cache")


def remember_held_back(cache: CacheStore, res_key: str, held: list[HeldBack]) -> None:
    """Add the held-back report to the resolution record, so a cached install has it too."""
    hit = cache.load_resolution(res_key, pinned=True)
    if hit is not None:
        cache.save_resolution(res_key, dataclasses.replace(hit, held_back=tuple(h.as_dict() for h in held)))
