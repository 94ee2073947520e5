"""The C and C++ toolchain for native builds: zig, from PyPI's `ziglang` package.

zig's `cc` and `c++` (clang with zig's own libc headers and stub libraries) cross-compile
for any (machine, glibc) pair from any host: `-target aarch64-linux-gnu.2.34` links
against stubs of exactly glibc 2.34, so the result cannot need a newer one. The binary is
the one inside the installed `ziglang` package (`lambdapack[native]`), found without
importing it (its `__init__` does nothing, its `__main__` execs the binary); its version
is part of what a built wheel is cached by. Compiles run through `processes`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdapack.host import processes

__all__ = ["Zig", "find_zig"]


@dataclass(frozen=True)
class Zig:
    path: Path  # the zig executable
    version: str  # `zig version`, e.g. "0.17.0"

    def cc(self, target: str, args: Sequence[str], *, cxx: bool = False) -> list[str]:
        """The command line of one compile or link for `target` (Target.compiler_target)."""
        return [str(self.path), "c++" if cxx else "cc", "-target", target, *args]


def find_zig(environ: Mapping[str, str]) -> Zig | None:
    """zig from the installed `ziglang` package, or None when it is not installed or does not run."""
    spec = importlib.util.find_spec("ziglang")
    if spec is None or spec.origin is None:
        return None
    exe = Path(spec.origin).parent / ("zig.exe" if os.name == "nt" else "zig")
    if not exe.is_file():
        return None
    try:
        res = processes.run_text([str(exe), "version"], env=dict(environ), timeout=60)
    except (OSError, processes.Timeout):
        return None
    version = res.stdout.strip()
    return Zig(exe, version) if res.returncode == 0 and version else None
