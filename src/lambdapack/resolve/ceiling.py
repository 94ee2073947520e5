"""The exact glibc ceiling, for a runtime whose glibc uv cannot target (pure).

uv's `--python-platform` knows a closed list of manylinux versions (2_17, 2_28, 2_31..2_40):
Amazon Linux 2's glibc 2.26 is not among them. So uv resolves for the next target it knows
above the ceiling (2_28), against index pages from which every wheel above the ceiling was
removed (`resolve/indexproxy.py` serves them). This module decides which target and which
files stay; `resolve/indexpages.py` rewrites the pages. It imports only `re`: the build's
cache keys name the ceiling on every build, including the no-change one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["UV_MANYLINUX", "Ceiling", "keeps", "plan_ceiling"]

# The manylinux glibc versions uv's --python-platform accepts (uv 0.13: `uv pip install --help`).
UV_MANYLINUX: tuple[tuple[int, int], ...] = ((2, 17), (2, 28), *((2, n) for n in range(31, 41)))

_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY_RE = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_(\w+)$")


@dataclass(frozen=True)
class Ceiling:
    """The newest glibc a wheel may need, and the uv target used with the filtered pages."""

    glibc: tuple[int, int]
    machine: str  # x86_64 | aarch64
    uv_glibc: tuple[int, int]  # the uv target at or above `glibc`

    @property
    def uv_platform(self) -> str:
        return f"{self.machine}-manylinux_{self.uv_glibc[0]}_{self.uv_glibc[1]}"


def plan_ceiling(glibc: tuple[int, int], machine: str) -> Ceiling | None:
    """None when uv targets `glibc` exactly (no filtering needed), else the ceiling to apply."""
    if glibc in UV_MANYLINUX:
        return None
    above = [v for v in UV_MANYLINUX if v > glibc]
    if not above:  # newer than any uv target: uv's newest already fits, nothing to remove
        return None
    return Ceiling(glibc, machine, above[0])


def _platform_fits(platform: str, ceiling: Ceiling) -> bool:
    if platform == "any":
        return True
    m = _MANYLINUX.match(platform)
    if m:
        glibc, arch = (int(m.group(1)), int(m.group(2))), m.group(3)
    else:
        legacy = _LEGACY_RE.match(platform)
        if legacy is None:  # musllinux, linux_*, macOS, Windows: never on Lambda
            return False
        glibc, arch = _LEGACY[legacy.group(1)], legacy.group(2)
    return arch == ceiling.machine and glibc <= ceiling.glibc


def keeps(filename: str, ceiling: Ceiling) -> bool:
    """Whether a file stays on the page: anything not a wheel, and wheels one of whose
    platform tags fits the ceiling (a wheel's tag set is `plat1.plat2`, any one suffices)."""
    if not filename.endswith(".whl"):
        return True
    parts = filename[:-4].split("-")
    if len(parts) < 5:
        return True  # not a wheel name uv would accept either; let uv say so
    return any(_platform_fits(p, ceiling) for p in parts[-1].split("."))
