"""Why a native build failed, from what the build printed, as one error with what to do (pure).

A build for Lambda fails for reasons the user can act on: a system library the target lacks
(its header not found, its config tool missing, the build reaching for the build machine's
copy, which `scripts/zigcc.py` refuses), or a compiler the build needs that lambdapack does
not provide (Rust). Anything else is the build's own last error lines.
"""

from __future__ import annotations

import re

from lambdapack.errors import BuildError
from lambdapack.facts.buildlibs import library_for

__all__ = ["REFUSED", "backend_ran", "build_failure"]

REFUSED = "lambdapack-zigcc: build machine path: "  # scripts/zigcc.py prints it (kept equal by a test)

_MISSING_HEADER = re.compile(r"fatal error: '?([^':\s]+)'?[: ]+(?:file not found|No such file or directory)")
# lld: `unable to find library -lpq`; zig 0.17: `unable to find dynamic system library "pq" using ...`
_MISSING_LIB = re.compile(r"unable to find (?:dynamic system |static system )?library[: ]+[\"']?(?:-l)?([\w.+-]+)[\"']?")
_MISSING_TOOL = re.compile(r"(\S+?-config|pg_config|mysql_config)\b[^\n]*(?:not found|No such file)", re.IGNORECASE)
_RUST = re.compile(r"can't find Rust compiler|cargo\b.*not found|rustc\b.*not found|setuptools[-_]rust|maturin",
                   re.IGNORECASE)
_OPTIONS = ("use a release or package with a wheel for the target, vendor the library's .so files into lib/ "
            "(with --allow-sdist off), or build that package in the Lambda build image (a container)")


_UV_FAILED = "error: Failed to build"
_UV_CAUSE = "cause: "  # uv's chain of causes under its error, one a line (`--color never`)
_BACKEND_RAN = "The build backend returned an error"  # uv's cause when the backend itself failed


def _tail(output: str, lines: int = 3) -> str:
    """The build's last error lines, then uv's first and last cause (where uv itself failed, e.g.
    fetching the build requirements, the causes are the only words that say why)."""
    text = [ln.strip() for ln in output.splitlines() if ln.strip()]
    causes = [ln.removeprefix(_UV_CAUSE) for ln in text if ln.startswith(_UV_CAUSE)]
    errors = [ln[:200] for ln in text if re.search(r"\berror\b", ln, re.IGNORECASE)
              and not ln.startswith((_UV_FAILED, _UV_CAUSE))]
    chain = causes[:1] + causes[-1:] if len(causes) > 1 else causes
    pick = errors[-lines:] + chain or text[-lines:]
    return "; ".join(pick)[:600] or "no output"


def backend_ran(output: str) -> bool:
    """Whether the failure came from the package's build (not from uv preparing it: a fetch of
    the build requirements, unpacking the sdist), which a second attempt would only repeat."""
    return _BACKEND_RAN in output or REFUSED in output


def _library_error(what: str, clue: str, doing: str) -> BuildError:
    lib = library_for(clue)
    name = lib.name if lib is not None else clue
    alternative = f"{lib.alternative}; or " if lib is not None else ""
    return BuildError(f"{doing}: it needs {name}, which the Lambda target does not provide ({what})",
                      f"{alternative}{_OPTIONS}")


def build_failure(output: str, doing: str) -> BuildError:
    """The error for a failed build of one sdist (`doing`: "building markupsafe 2.0.1 for ...")."""
    for line in output.splitlines():
        if REFUSED in line:
            path = line.split(REFUSED, 1)[1].strip()
            return _library_error(f"its build asked for the build machine's {path}", path, doing)
    if (m := _MISSING_HEADER.search(output)) is not None:
        return _library_error(f"header {m.group(1)} not found", m.group(1), doing)
    if (m := _MISSING_TOOL.search(output)) is not None:
        return _library_error(f"{m.group(1)} not found", m.group(1), doing)
    if (m := _MISSING_LIB.search(output)) is not None:
        return _library_error(f"library -l{m.group(1)} not found", f"-l{m.group(1)}", doing)
    if _RUST.search(output):
        return rust_refusal(doing)
    return BuildError(f"{doing} failed: {_tail(output)}",
                      "run with -v to see the build's output; " + _OPTIONS)


def rust_refusal(doing: str) -> BuildError:
    return BuildError(f"{doing}: it is a Rust extension, and --build-native compiles C and C++ only",
                      "use a release with a wheel for the target (most Rust packages publish manylinux wheels), "
                      "or build it with `maturin build --zig --target <arch>-unknown-linux-gnu` and add the wheel "
                      "with --find-links")
