"""The Lambda Python runtime catalog: the one place that knows what each runtime is.

Sources:
- OS per runtime, interpreter path, deprecation phases:
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html and
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html
- glibc 2.26 on Amazon Linux 2, 2.34 on Amazon Linux 2023: `ldd --version` in
  public.ecr.aws/lambda/python images, as recorded by aws/aws-lambda-builders
  (python_pip/packager.py `_RUNTIME_GLIBC`, PR #752) and by Pants' complete-platform
  captures (top tags `manylinux_2_26` for 3.9-3.11, `manylinux_2_34` for 3.12+).
- libstdc++ symbol versions: AL2 ships gcc 7 libstdc++ (GLIBCXX_3.4.24, CXXABI_1.3.11);
  AL2023 ships gcc 11 libstdc++ (GLIBCXX_3.4.29, CXXABI_1.3.13).
- python3.15: a public preview runtime (zip and `python:3.15-preview` image) since
  2026-07-24 (aws/aws-lambda-python-runtime-interface-client#216, aws/aws-lambda-roadmap#55);
  AWS publishes no deprecation date for a preview runtime.
- Each runtime's dates carry their own source below (read 2026-12). Update them here, and
  only here, when AWS publishes changes: builds refuse a runtime once its update block
  has passed, so a stale date here either blocks users or lets them build zips Lambda rejects.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from dataclasses import dataclass
from enum import Enum

from lambdapack.errors import UsageError
from lambdapack.facts.machines import EM_AARCH64, EM_X86_64, MACHINE_NAMES

__all__ = [
    "RUNTIMES",
    "Arch",
    "Deprecation",
    "Lifecycle",
    "Phase",
    "Runtime",
    "UnknownArchError",
    "UnknownRuntimeError",
    "get_arch",
    "get_runtime",
    "lifecycle",
    "newest_supported",
]


class Arch(Enum):
    """A Lambda instruction set architecture. The value is Lambda's own name."""

    X86_64 = "x86_64"
    ARM64 = "arm64"

    @property
    def machine(self) -> str:
        """`platform.machine()` on Lambda, and the suffix of manylinux wheel tags."""
        return MACHINE_NAMES[self.elf_machine]

    @property
    def elf_machine(self) -> int:
        """ELF `e_machine` of native code for this architecture (EM_X86_64, EM_AARCH64)."""
        return EM_X86_64 if self is Arch.X86_64 else EM_AARCH64


_RUNTIMES_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"


@dataclass(frozen=True)
class Deprecation:
    """AWS's two-phase end of support, plus the announced deprecation date."""

    deprecated: _dt.date
    block_create: _dt.date | None = None
    block_update: _dt.date | None = None
    source: str = _RUNTIMES_PAGE  # where the dates were read


@dataclass(frozen=True)
class Runtime:
    name: str
    python: tuple[int, int]
    os: str
    glibc: tuple[int, int]
    glibcxx: tuple[int, ...]
    cxxabi: tuple[int, ...]
    # Highest glibc that uv can target without exceeding `glibc`: uv offers
    # manylinux_2_17, _2_28, _2_31.._2_40 but no _2_24/_2_26, and its generic
    # `*-unknown-linux-gnu` means 2_28, which is newer than Amazon Linux 2's 2.26.
    uv_manylinux: tuple[int, int]
    deprecation: Deprecation | None = None
    preview: bool = False  # a public preview runtime: AWS says not for production

    @property
    def python_tag(self) -> str:
        return f"cp{self.python[0]}{self.python[1]}"

    @property
    def version(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def architectures(self) -> tuple[Arch, ...]:
        return (Arch.X86_64, Arch.ARM64)

    def is_deprecated(self, today: _dt.date) -> bool:
        return self.deprecation is not None and today >= self.deprecation.deprecated

    def deprecation_message(self, today: _dt.date) -> str | None:
        """The warning a build for this runtime gives on `today` (None: nothing to say)."""
        return lifecycle(self, today).warning


class Phase(Enum):
    """Where a runtime is in AWS's lifecycle on a given day, in order. The value is the word
    the output uses."""

    PREVIEW = "preview"
    SUPPORTED = "supported"
    DEPRECATED = "deprecated"
    CREATE_BLOCKED = "create-blocked"
    UPDATE_BLOCKED = "update-blocked"


@dataclass(frozen=True)
class Lifecycle:
    """A runtime's phase on one day and what a build says about it."""

    phase: Phase
    warning: str | None  # a warning line of the build result (None: nothing to say)
    blocked_since: _dt.date | None = None  # set when Lambda rejects updates: builds refuse

    @property
    def update_blocked(self) -> bool:
        return self.phase is Phase.UPDATE_BLOCKED


def lifecycle(rt: Runtime, today: _dt.date) -> Lifecycle:
    """The runtime's phase on `today` (a pure function of the date: tests pass any day)."""
    if rt.preview:
        return Lifecycle(Phase.PREVIEW, f"{rt.name} is a preview runtime: AWS supports it for testing, "
                         "not for production functions, and may change it before general availability")
    dep = rt.deprecation
    if dep is None or today < dep.deprecated:
        return Lifecycle(Phase.SUPPORTED, None)
    phase = Phase.DEPRECATED
    parts = [f"{rt.name} is deprecated by AWS since {dep.deprecated.isoformat()} (no more security patches)"]
    if dep.block_create is not None:
        passed = today >= dep.block_create
        phase = Phase.CREATE_BLOCKED if passed else phase
        parts.append(f"creating functions {'is blocked since' if passed else 'will be blocked from'} "
                     f"{dep.block_create.isoformat()}")
    if dep.block_update is not None:
        passed = today >= dep.block_update
        phase = Phase.UPDATE_BLOCKED if passed else phase
        parts.append(f"updating them {'is blocked since' if passed else 'will be blocked from'} "
                     f"{dep.block_update.isoformat()}")
    text = "; ".join(parts) + f" (source: {dep.source}). Consider moving to {newest_supported().name}."
    blocked = dep.block_update if phase is Phase.UPDATE_BLOCKED else None
    return Lifecycle(phase, text, blocked)


def newest_supported() -> Runtime:
    """The newest generally available runtime: what a deprecation warning recommends."""
    return max((r for r in RUNTIMES.values() if not r.preview), key=lambda r: r.python)


_AL2 = "Amazon Linux 2"
_AL2023 = "Amazon Linux 2023"


def _al2(minor: int, dep: Deprecation | None) -> Runtime:
    return Runtime(
        name=f"python3.{minor}",
        python=(3, minor),
        os=_AL2,
        glibc=(2, 26),
        glibcxx=(3, 4, 24),
        cxxabi=(1, 3, 11),
        uv_manylinux=(2, 17),
        deprecation=dep,
    )


def _al2023(minor: int, dep: Deprecation | None, *, preview: bool = False) -> Runtime:
    return Runtime(
        name=f"python3.{minor}",
        python=(3, minor),
        os=_AL2023,
        glibc=(2, 34),
        glibcxx=(3, 4, 29),
        cxxabi=(1, 3, 13),
        uv_manylinux=(2, 34),
        deprecation=dep,
        preview=preview,
    )


_D = _dt.date
# python3.9's block dates moved twice (2026-02-03/03-09, then 2026-08-31/09-30 in secondary
# summaries); the newest report of AWS's table gives 2027-02-01/03-03. Recheck on the page.
_PY39_SOURCE = f"{_RUNTIMES_PAGE} as quoted on repost.aws, 2026-11"
RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        _al2(9, Deprecation(_D(2025, 12, 15), _D(2027, 2, 1), _D(2027, 3, 3), _PY39_SOURCE)),
        _al2(10, Deprecation(_D(2026, 10, 31), _D(2026, 11, 30), _D(2027, 1, 15))),
        _al2(11, Deprecation(_D(2027, 6, 30), _D(2027, 7, 31), _D(2027, 8, 31))),
        _al2023(12, Deprecation(_D(2028, 10, 31), _D(2028, 11, 30), _D(2029, 1, 10))),
        _al2023(13, Deprecation(_D(2029, 6, 30), _D(2029, 7, 31), _D(2029, 8, 31))),
        _al2023(14, Deprecation(_D(2029, 6, 30), _D(2029, 7, 31), _D(2029, 8, 31))),
        _al2023(15, None, preview=True),
    )
}

_ARCH_ALIASES = {"x86_64": Arch.X86_64, "amd64": Arch.X86_64, "arm64": Arch.ARM64, "aarch64": Arch.ARM64}


# Usage errors (exit 2) wherever they are raised, so no caller has to map them; still
# ValueErrors for code that looks a name up and catches that.
class UnknownRuntimeError(UsageError, ValueError):
    pass


class UnknownArchError(UsageError, ValueError):
    pass


def get_runtime(name: str) -> Runtime:
    """Look a runtime up by Lambda's identifier; the error lists the valid names."""
    key = name.strip().lower()
    if key in RUNTIMES:
        return RUNTIMES[key]
    # Accept "3.12" and "py312"-style shorthands people type.
    for r in RUNTIMES.values():
        if key in (r.version, f"py{r.python[0]}{r.python[1]}", r.python_tag):
            return r
    valid = ", ".join(RUNTIMES)
    hint = difflib.get_close_matches(key, list(RUNTIMES), n=1)
    extra = f" Did you mean {hint[0]}?" if hint else ""
    # What is wrong first (a retired python3.8 is not a typo), the closest name only after.
    raise UnknownRuntimeError(f"{name.strip() or repr(name)} is not supported (supported: {valid}).{extra}")


def get_arch(name: str) -> Arch:
    key = name.strip().lower()
    if key in _ARCH_ALIASES:
        return _ARCH_ALIASES[key]
    raise UnknownArchError(f"unknown architecture {name!r}; valid: x86_64, arm64 (aarch64)")
