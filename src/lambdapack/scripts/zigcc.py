"""The C/C++ compiler and linker a native build sees: zig for the Lambda target, guarded.

Run by the build backend (setuptools' CC, CXX, LDSHARED ...; meson and CMake through CC/CXX) as
`python zigcc.py ZIG TARGET cc|c++ ARGS...`, set up by lambdapack's `native.crossbuild`.
Imports nothing of lambdapack's: it runs in the package's build environment.

What it adds: `-target TARGET` (zig's stubs of exactly that glibc), and prefix maps of the
working directory (the unpacked sdist) and of the Python headers, so no path of this build
ends up in the binary (the same sdist builds to the same bytes in any folder).
What it refuses, exit 3 with one line on stderr that lambdapack reads back: an include or
library directory of the build machine (/usr/include, /usr/lib/..., /usr/local, Homebrew),
which would compile against the host's headers and link the host's libraries.
What it drops: linker flags zig's linker rejects that a Python build passes for GNU ld.
"""

from __future__ import annotations

import os
import sys

REFUSED = "lambdapack-zigcc: build machine path: "

# Directories of the machine running the build, never of the Lambda target.
_HOST_DIRS = ("/usr/include", "/usr/local", "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/opt/homebrew",
              "/opt/local", "/usr/X11")
# GNU ld flags CPython's own LDSHARED and some setup.py files pass, which zig's lld front end
# rejects or does not need (the zig-cc-python project lists the same).
_DROPPED_PREFIXES = ("-Wl,--exclude-libs", "-Wl,-Bsymbolic-functions")
_DROPPED = ("-Wl,-w",)
_PATH_FLAGS = ("-I", "-L", "-isystem", "-idirafter", "-iquote", "-Wl,-L", "-Wl,-rpath,", "-Wl,-rpath=")


# The build interpreter's own headers, which may lie under /usr/include (a distribution's Python).
_ALLOWED = tuple(os.path.normpath(p) for p in os.environ.get("LAMBDAPACK_ZIGCC_ALLOW", "").split(os.pathsep) if p)


def _under(path: str, d: str) -> bool:
    return path == d or path.startswith(d.rstrip("/") + "/")


def _host_path(path: str) -> bool:
    norm = os.path.normpath(os.path.join(os.getcwd(), path))  # noqa: PTH109, PTH118 (a relative -I too)
    if any(_under(norm, d) for d in _ALLOWED):
        return False
    return any(_under(norm, d) for d in _HOST_DIRS)


def _refused(args: list[str]) -> str | None:
    """The first host include or library directory among the arguments, or None."""
    for i, a in enumerate(args):
        for flag in _PATH_FLAGS:
            if a == flag and i + 1 < len(args):
                if _host_path(args[i + 1]):
                    return f"{flag} {args[i + 1]}"
            elif a.startswith(flag) and len(a) > len(flag) and _host_path(a[len(flag):]):
                return a
        if (a.endswith(".so") or ".so." in a) and os.path.isabs(a) and _host_path(a):  # noqa: PTH117
            return a  # a library of this machine given by its path
    return None


def main(argv: list[str]) -> int:
    zig, target, mode, args = argv[0], argv[1], argv[2], argv[3:]
    kept = [a for a in args if a not in _DROPPED and not a.startswith(_DROPPED_PREFIXES)]
    bad = _refused(kept)
    if bad is not None:
        sys.stderr.write(f"{REFUSED}{bad}\n")
        return 3
    cwd = os.getcwd()  # noqa: PTH109 (a plain string for the flag)
    # Paths of this build (the unpacked sdist, the headers' copy) are left out of the binary.
    maps = [f"-ffile-prefix-map={d}=/python-include" for d in _ALLOWED]
    # No sanitizer runtime: zig turns UBSan on for unoptimised compiles, which links newer glibc
    # symbols and keeps source paths in the binary.
    cmd = [zig, mode, "-target", target, "-fno-sanitize=all", f"-ffile-prefix-map={cwd}=.", *maps, *kept]
    # Replaced by zig (no second process per compile); native builds run on Linux build machines.
    os.execv(zig, cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
