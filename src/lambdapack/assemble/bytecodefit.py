"""Which bytecode to leave out so that a package fits Lambda's unzipped limit (pure).

Why: the .pyc a build compiles can be what pushes a package over 262,144,000 bytes
(scikit-learn on arm64 python3.11: 262.8 MB with bytecode, ~205 MB without). Bytecode
only saves compile time at import, so when leaving some out makes the package fit,
that is better than failing. The order is "costs most, gains least" first:

1. the .pyc of modules under a test directory (`tests/`, `test/`, `testing/`) of every
   distribution: a handler never imports them, so they gain nothing at a cold start (those
   of `tests/` and `test/` are never compiled in the first place: `in_test_suite`);
2. then the remaining .pyc of whole distributions, the largest bytecode first (ties by
   name): one distribution without bytecode is simpler to state and to reason about
   than a scattering of modules, and the largest frees the most for one loss.

Never the user's code (entries without a distribution): its handler module is imported
on every cold start. Stops as soon as the total is under the limit (the size rule fails
at the limit itself). When even all of it would not fit, nothing is left out.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["SUITE_DIRS", "TEST_DIRS", "FitEntry", "FitPlan", "LeftOut", "in_test_suite", "plan_fit"]

TEST_DIRS = frozenset({"tests", "test", "testing"})
# The folders of a distribution's own test suite, whose modules are never compiled at all
# (`testing/` is not among them: numpy.testing and the like are imported by other packages).
SUITE_DIRS = frozenset({"tests", "test"})


def in_test_suite(arcname: str) -> bool:
    """A module of a dependency's test suite (`pandas/tests/...`: 1,143 of numpy and pandas's
    1,890 modules). No handler imports one, so a build compiles no bytecode for it: it ships as
    source, and an import that does happen compiles it in memory, as without bytecode."""
    return not SUITE_DIRS.isdisjoint(posixpath.dirname(arcname).split("/"))


@dataclass(frozen=True)
class FitEntry:
    arcname: str
    distribution: str | None  # None: the user's code (never left out)
    is_pyc: bool  # a .pyc this build compiled (only those can be left out)
    size: int


@dataclass(frozen=True)
class LeftOut:
    """One distribution's bytecode left out: all of it, or only its test modules'."""

    distribution: str
    bytes: int
    tests_only: bool


@dataclass(frozen=True)
class FitPlan:
    drop: frozenset[str]  # the arcnames to leave out
    left_out: tuple[LeftOut, ...]  # per distribution, tests-only ones after the whole ones, by name

    @property
    def saved(self) -> int:
        return sum(x.bytes for x in self.left_out)


def _in_test_dir(arcname: str) -> bool:
    return not TEST_DIRS.isdisjoint(posixpath.dirname(arcname).split("/"))


def _steps(pyc: Sequence[FitEntry]) -> list[tuple[str | None, list[FitEntry]]]:
    """The groups of .pyc in the order they are left out: (None, every test module's), then
    (distribution, the rest of its .pyc) by descending bytes, ties by name."""
    tests = [e for e in pyc if _in_test_dir(e.arcname)]
    rest: dict[str, list[FitEntry]] = {}
    for e in pyc:
        if not _in_test_dir(e.arcname):
            assert e.distribution is not None
            rest.setdefault(e.distribution, []).append(e)
    order = sorted(rest, key=lambda d: (-sum(e.size for e in rest[d]), d))
    return [(None, tests), *((d, rest[d]) for d in order)]


def plan_fit(entries: Iterable[FitEntry], total: int, limit: int) -> FitPlan | None:
    """The bytecode to leave out so that `total` (every unzipped byte of the function and
    its layers, `entries` among them) falls under `limit`; an empty plan when it is already
    under, None when leaving out all the distributions' bytecode would still not fit."""
    if total < limit:
        return FitPlan(frozenset(), ())
    pyc = [e for e in entries if e.is_pyc and e.distribution is not None]
    if total - sum(e.size for e in pyc) >= limit:
        return None
    dropped: list[FitEntry] = []
    whole: set[str] = set()
    for dist, group in _steps(pyc):
        if total < limit:
            break
        dropped += group
        total -= sum(e.size for e in group)
        if dist is not None:
            whole.add(dist)
    return FitPlan(frozenset(e.arcname for e in dropped), _left_out(dropped, whole))


def _left_out(dropped: Sequence[FitEntry], whole: set[str]) -> tuple[LeftOut, ...]:
    by_dist: dict[str, int] = {}
    for e in dropped:
        assert e.distribution is not None
        by_dist[e.distribution] = by_dist.get(e.distribution, 0) + e.size
    full = sorted((d for d in by_dist if d in whole), key=lambda d: (-by_dist[d], d))
    tests = sorted(d for d in by_dist if d not in whole)
    return tuple([LeftOut(d, by_dist[d], False) for d in full] + [LeftOut(d, by_dist[d], True) for d in tests])
