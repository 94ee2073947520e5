"""The Lambda Python runtime catalog: the one place that knows what each runtime is.

Sources (read 2026-11):
- OS per runtime, interpreter path, deprecation phases:
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html and
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html
- glibc 2.26 on Amazon Linux 2, 2.34 on Amazon Linux 2023: `ldd --version` in
  public.ecr.aws/lambda/python images, as recorded by aws/aws-lambda-builders
  (python_pip/packager.py `_RUNTIME_GLIBC`, PR #752) and by Pants' complete-platform
  captures (top tags `manylinux_2_26` for 3.9-3.11, `manylinux_2_34` for 3.12+).
- libstdc++ symbol versions: AL2 ships gcc 7 libstdc++ (GLIBCXX_3.4.24, CXXABI_1.3.11);
  AL2023 ships gcc 11 libstdc++ (GLIBCXX_3.4.29, CXXABI_1.3.13).
- Deprecation dates: lambda-runtimes.html "Deprecated/Upcoming deprecations" tables.
  python3.9 and python3.11 dates were confirmed only through secondary summaries of
  that table (endoflife.date/aws-lambda); python3.10's are AWS's announced AL2-era
  schedule. Update them here, and only here, when AWS publishes changes.
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
    "Runtime",
    "UnknownArchError",
    "UnknownRuntimeError",
    "get_arch",
    "get_runtime",
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


@dataclass(frozen=True)
class Deprecation:
    """AWS's two-phase end of support, plus the announced deprecation date."""

    deprecated: _dt.date
    block_create: _dt.date | None = None
    block_update: _dt.date | None = None


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
        dep = self.deprecation
        if dep is None or today < dep.deprecated:
            return None
        parts = [f"{self.name} is deprecated by AWS since {dep.deprecated.isoformat()}"]
        if dep.block_create is not None:
            verb = "were blocked" if today >= dep.block_create else "are blocked"
            parts.append(f"new functions {verb} from {dep.block_create.isoformat()}")
        if dep.block_update is not None:
            verb = "were blocked" if today >= dep.block_update else "are blocked"
            parts.append(f"updates {verb} from {dep.block_update.isoformat()}")
        newest = max(RUNTIMES.values(), key=lambda r: r.python).name
        return "; ".join(parts) + f". Consider moving to {newest}."


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


def _al2023(minor: int, dep: Deprecation | None) -> Runtime:
    return Runtime(
        name=f"python3.{minor}",
        python=(3, minor),
        os=_AL2023,
        glibc=(2, 34),
        glibcxx=(3, 4, 29),
        cxxabi=(1, 3, 13),
        uv_manylinux=(2, 34),
        deprecation=dep,
    )


_D = _dt.date
RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        _al2(9, Deprecation(_D(2025, 12, 15), _D(2026, 8, 31), _D(2026, 9, 30))),
        _al2(10, Deprecation(_D(2026, 6, 30), _D(2026, 7, 31), _D(2026, 8, 31))),
        _al2(11, Deprecation(_D(2027, 6, 30), _D(2027, 7, 31), _D(2027, 8, 31))),
        _al2023(12, Deprecation(_D(2028, 10, 31), _D(2028, 11, 30), _D(2029, 1, 10))),
        _al2023(13, Deprecation(_D(2029, 6, 30), _D(2029, 7, 31), _D(2029, 8, 31))),
        _al2023(14, Deprecation(_D(2029, 6, 30), _D(2029, 7, 31), _D(2029, 8, 31))),
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
    raise UnknownRuntimeError(f"unknown runtime {name!r}; valid runtimes: {valid}.{extra}")


def get_arch(name: str) -> Arch:
    key = name.strip().lower()
    if key in _ARCH_ALIASES:
        return _ARCH_ALIASES[key]
    raise UnknownArchError(f"unknown architecture {name!r}; valid: x86_64, arm64 (aarch64)")
