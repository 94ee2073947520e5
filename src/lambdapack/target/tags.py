"""Which wheels a Lambda runtime accepts: the tag rules, in one place.

A target is (runtime, architecture). Its tag list is what `packaging.tags.sys_tags()`
would print inside that Lambda, computed here without being there: CPython only,
the runtime's own ABI (never the free-threaded `t` ABI), abi3 down to cp32, and
manylinux tags from the runtime's glibc down to the oldest policy for the
architecture. musllinux, macOS, Windows and the non-portable `linux_<arch>` are
never accepted (PyPI refuses `linux_*` uploads; such wheels are local builds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from lambdapack.facts.runtimes import Arch, Runtime

if TYPE_CHECKING:
    from packaging.tags import Tag

__all__ = ["Target", "Verdict", "closeness", "explain_tag", "why"]

# Oldest glibc of any manylinux policy per architecture (PEP 600 / PEP 599):
# manylinux1 (2.5) existed for x86_64 only; aarch64 starts at manylinux2014 (2.17).
_MANYLINUX_FLOOR = {Arch.X86_64: 5, Arch.ARM64: 17}
# PEP 600 legacy aliases: the old policy names equal these glibc versions.
_LEGACY_ALIAS = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


@dataclass(frozen=True)
class Target:
    runtime: Runtime
    arch: Arch

    def __str__(self) -> str:
        return f"{self.runtime.name} {self.arch.value}"

    def describe(self) -> str:
        g = ".".join(map(str, self.runtime.glibc))
        preview = ", preview" if self.runtime.preview else ""
        return f"{self.runtime.name} {self.arch.value} ({self.runtime.os}, glibc {g}{preview})"

    @property
    def compiler_target(self) -> str:
        """The C toolchain's target for code that loads on this runtime: its machine and glibc,
        as zig spells it (`x86_64-linux-gnu.2.26`), so it links against exactly that glibc."""
        major, minor = self.runtime.glibc
        return f"{self.arch.machine}-linux-gnu.{major}.{minor}"

    @cached_property
    def platforms(self) -> tuple[str, ...]:
        """manylinux platform tags, best first, including the legacy aliases."""
        major, minor = self.runtime.glibc
        m = self.arch.machine
        out: list[str] = []
        for n in range(minor, _MANYLINUX_FLOOR[self.arch] - 1, -1):
            out.append(f"manylinux_{major}_{n}_{m}")
            if n in _LEGACY_ALIAS:
                out.append(f"{_LEGACY_ALIAS[n]}_{m}")
        return tuple(out)

    @cached_property
    def tags(self) -> tuple[Tag, ...]:
        """Every tag the target interpreter accepts, most preferred first."""
        # Imported on first use: a no-change rebuild never lists tags.
        from packaging.tags import compatible_tags, cpython_tags

        py = self.runtime.python
        plats = list(self.platforms)
        ordered = list(cpython_tags(py, [self.runtime.python_tag], plats))
        ordered += compatible_tags(py, self.runtime.python_tag, plats)
        seen: set[Tag] = set()
        unique = []
        for t in ordered:
            if t not in seen:
                seen.add(t)
                unique.append(t)
        return tuple(unique)

    @cached_property
    def tag_rank(self) -> dict[Tag, int]:
        return {t: i for i, t in enumerate(self.tags)}

    @property
    def uv_platform(self) -> str:
        """uv's --python-platform: the newest manylinux uv offers within the glibc."""
        major, minor = self.runtime.uv_manylinux
        return f"{self.arch.machine}-manylinux_{major}_{minor}"

    @property
    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values inside the Lambda runtime (never this machine's)."""
        v = self.runtime.version
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{v}.0",
            "os_name": "posix",
            "platform_machine": self.arch.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{v}.0",
            "python_version": v,
            "sys_platform": "linux",
        }


@dataclass(frozen=True)
class Verdict:
    compatible: bool
    reason: str
    tag: str | None = None


_MANYLINUX_RE = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY_RE = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_(\w+)$")
_LEGACY_GLIBC = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_PY_RE = re.compile(r"^(cp|py|pp|ip|jy|graalpy)(\d)(\d*)$")


def _platform_problem(platform: str, target: Target) -> str | None:
    if platform == "any":
        return None
    if platform.startswith("macosx"):
        return "built for macOS"
    if platform.startswith("win"):
        return "built for Windows"
    if platform.startswith(("musllinux", "linux_musl")):
        return "built for musl libc (Alpine), Lambda uses glibc"
    m = _MANYLINUX_RE.match(platform)
    legacy = _LEGACY_RE.match(platform)
    if m or legacy:
        if m:
            glibc, arch = (int(m.group(1)), int(m.group(2))), m.group(3)
        else:
            assert legacy is not None
            glibc, arch = _LEGACY_GLIBC[legacy.group(1)], legacy.group(2)
        if arch != target.arch.machine:
            return f"built for {arch}, the target is {target.arch.machine}"
        if glibc > target.runtime.glibc:
            have = ".".join(map(str, target.runtime.glibc))
            return (
                f"needs glibc {glibc[0]}.{glibc[1]}, {target.runtime.name} runs on "
                f"{target.runtime.os} with glibc {have}"
            )
        if glibc[1] < _MANYLINUX_FLOOR[target.arch] and glibc[0] == 2:
            return f"manylinux glibc {glibc[0]}.{glibc[1]} does not exist for {arch}"
        return None
    if platform.startswith("linux_"):
        return f"plain `{platform}` tag: a local build, not a portable manylinux wheel"
    return f"built for platform `{platform}`"


def _python_problem(interpreter: str, abi: str, target: Target) -> str | None:
    rt = target.runtime
    m = _PY_RE.match(interpreter)
    if m is None:
        return f"unknown interpreter tag `{interpreter}`"
    impl, major, minor_s = m.group(1), int(m.group(2)), m.group(3)
    if impl not in ("cp", "py"):
        names = {"pp": "PyPy", "ip": "IronPython", "jy": "Jython", "graalpy": "GraalPy"}
        return f"built for {names.get(impl, impl)}, Lambda runs CPython"
    if major != rt.python[0]:
        return f"built for Python {major}"
    minor = int(minor_s) if minor_s else None
    if abi == "none":
        if minor is not None and minor > rt.python[1]:
            return f"requires Python {major}.{minor}, the runtime is {rt.version}"
        return None
    if abi == "abi3":
        if impl != "cp":
            return f"abi3 with interpreter `{interpreter}`"
        if minor is not None and minor > rt.python[1]:
            return f"stable ABI from CPython {major}.{minor} up, the runtime is {rt.version}"
        return None
    if abi.endswith("t") and abi[:-1] == interpreter:
        return f"built for free-threaded CPython {major}.{minor} (`{abi}`), Lambda's is not"
    if abi.startswith("cp") and abi.rstrip("dmu") == rt.python_tag:
        if abi != rt.python_tag:
            return f"ABI `{abi}` (debug/old build flags), the runtime's ABI is `{rt.python_tag}`"
        return None
    if abi.startswith("cp"):
        v = abi[2:].rstrip("tdmu")
        shown = f"{v[0]}.{v[1:]}" if len(v) > 1 else v
        return f"built for CPython {shown}, the runtime is {rt.version}"
    return f"ABI `{abi}` is not CPython {rt.version}'s"


def explain_tag(tag: Tag, target: Target) -> list[str]:
    """Every reason this one tag does not fit the target ([] when it fits)."""
    problems = []
    for p in (_python_problem(tag.interpreter, tag.abi, target), _platform_problem(tag.platform, target)):
        if p is not None:
            problems.append(p)
    if not problems and tag not in target.tag_rank:
        problems.append(f"tag {tag} is not among the runtime's accepted tags")
    return problems


def closeness(tag: Tag, target: Target) -> tuple[int, int, str]:
    """Sort key: the tag nearest to fitting first (fewest problems, then a manylinux
    tag for the target's architecture, then other Linux, then other systems)."""
    plat = tag.platform
    if "linux" in plat and plat.endswith(target.arch.machine):
        kind = 0
    elif "linux" in plat:
        kind = 1
    else:
        kind = 2
    return (len(explain_tag(tag, target)), kind, str(tag))


def why(filename: str, target: Target) -> Verdict:
    """Is this wheel installable on the target, and why (one line)."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        _name, _ver, _build, wheel_tags = parse_wheel_filename(filename.rsplit("/", 1)[-1])
    except InvalidWheelFilename as e:
        raise ValueError(f"not a wheel file name: {filename!r} ({e})") from e
    best = min(
        (t for t in wheel_tags if t in target.tag_rank),
        key=lambda t: target.tag_rank[t],
        default=None,
    )
    if best is not None:
        return Verdict(
            True,
            f"compatible with {target.describe()}: tag {best} is accepted "
            f"(#{target.tag_rank[best] + 1} of {len(target.tags)} in preference order)",
            str(best),
        )
    # Explain with the tag that is closest to fitting (fewest problems).
    closest = min(wheel_tags, key=lambda t: closeness(t, target))
    problems = explain_tag(closest, target)
    return Verdict(
        False,
        f"not compatible with {target.describe()}: {'; '.join(problems)} (tag {closest})",
        str(closest),
    )
