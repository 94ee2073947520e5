"""How explanations name the runtimes' operating systems and their library versions.

Read from the runtime catalog (`lambdapack.facts.runtimes`), so that a new runtime or
Amazon Linux release changes the advice without touching a rule.
"""

from __future__ import annotations

from lambdapack.facts.runtimes import RUNTIMES, Runtime

__all__ = ["glibc_by_os", "libstdcxx_by_os", "newest_os_first_runtime"]


def _by_os() -> list[list[Runtime]]:
    """Runtimes grouped by OS, oldest first: the catalog lists them in release order."""
    groups: list[list[Runtime]] = []
    for rt in RUNTIMES.values():
        if groups and groups[-1][0].os == rt.os:
            groups[-1].append(rt)
        else:
            groups.append([rt])
    return groups


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in version)


def glibc_by_os() -> str:
    """E.g. "python3.9-python3.11 run on Amazon Linux 2 (glibc 2.26); python3.12 and later on ..."."""
    groups = _by_os()
    parts: list[str] = []
    for i, group in enumerate(groups):
        first, last = group[0], group[-1]
        names = f"{first.name} and later" if i == len(groups) - 1 else f"{first.name}-{last.name}"
        verb = " run" if i == 0 else ""
        parts.append(f"{names}{verb} on {first.os} (glibc {_dotted(first.glibc)})")
    return "; ".join(parts)


def libstdcxx_by_os() -> str:
    """E.g. "Amazon Linux 2 (python3.9-3.11) provides up to GLIBCXX_3.4.24 / CXXABI_1.3.11, ..."."""
    groups = _by_os()
    parts: list[str] = []
    for i, group in enumerate(groups):
        first, last = group[0], group[-1]
        names = f"{first.name}+" if i == len(groups) - 1 else f"{first.name}-{last.version}"
        verb = " provides" if i == 0 else ""
        parts.append(
            f"{first.os} ({names}){verb} up to GLIBCXX_{_dotted(first.glibcxx)} / CXXABI_{_dotted(first.cxxabi)}"
        )
    return ", ".join(parts)


def newest_os_first_runtime() -> str:
    """The oldest runtime on the newest OS: the one to move to for newer system libraries."""
    return _by_os()[-1][0].name
