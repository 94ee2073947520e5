"""The size rules (LP101-LP104): Lambda's limits on sizes known before upload, and what
the build's own bytecode adds to the unzipped total, so the LP101 error can say whether
`--no-compile` alone would bring the package within the limit, and LP104 can say which
bytecode a default build left out to fit (`assemble/bytecodefit.py` decides which).
The ways to make room are computed from what the artifact holds (`Contents`, `make_room`):
boto3 is named only when it ships, `--slim aggressive` only when it would leave out more."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lambdapack import units
from lambdapack.facts import limits
from lambdapack.facts.sdk import SDK_DISTRIBUTIONS
from lambdapack.inspect.findings import ERROR, WARNING, Finding

__all__ = ["Contents", "bytecode_left_out_finding", "check_sizes", "make_room", "oversize_finding"]

_MIB = 1 << 20
_IMAGE = f"use a container image ({units.limit(limits.CONTAINER_IMAGE_BYTES)})"


@dataclass(frozen=True)
class Contents:
    """What a package holds, as far as making room goes (a build knows it; `check` does not).

    `dists`: (canonical distribution name, unzipped bytes it ships); `slim`: the build's
    --slim profile (None: not known); `aggressive_saves`: the bytes `--slim aggressive` would
    leave out beyond that profile, as its plan measures them; `function_deps`: the function
    zip itself ships dependencies (a build without a layer of its own)."""

    dists: tuple[tuple[str, int], ...] = ()
    slim: str | None = None
    aggressive_saves: int = 0
    function_deps: bool = False


def make_room(c: Contents | None, over_by: int = 0) -> str:
    """The ways to make room, from what the package holds, most specific first (pure).
    `over_by`: the bytes the package is over; a saving that is neither 1 MiB nor enough on its
    own is not worth a flag."""
    if c is None or not c.dists:
        return f"leave out what the function does not need, or {_IMAGE}"
    ways: list[str] = []
    sdk = sorted(n for n, _b in c.dists if re.sub(r"[-_.]+", "-", n).lower() in SDK_DISTRIBUTIONS)
    if sdk:
        ways.append(f"drop {_and(sdk)} (the runtime has them: --exclude-runtime-provided)")
    saves = c.aggressive_saves
    if c.slim is not None and c.slim != "aggressive" and saves > 0 and (saves >= _MIB or saves >= over_by):
        enough = ", enough on its own" if over_by and saves >= over_by else ""
        ways.append(f"--slim aggressive (it leaves out {units.human(saves)} more of this build{enough}, "
                    "and strips debug sections)")
    biggest = sorted(c.dists, key=lambda d: (-d[1], d[0]))[:3]
    ways.append("leave out or replace the biggest distributions: "
                + ", ".join(f"{n} ({units.human(b)})" for n, b in biggest))
    ways.append(_IMAGE)
    if c.function_deps:
        # Users expect a layer to help; the limit counts the function and its layers together.
        ways.append("a layer does not help: the limit counts the function and all its layers together")
    return "; ".join(ways)


def _and(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _left_out_phrase(left_out: Sequence[tuple[str, int, bool]]) -> str:
    """'scikit-learn (29.8 MiB) and scipy (19.2 MiB), and of the test modules of numpy (1.1 MiB)'."""
    whole = [f"{name} ({units.human(n)})" for name, n, tests_only in left_out if not tests_only]
    tests = [f"{name} ({units.human(n)})" for name, n, tests_only in left_out if tests_only]
    parts = ([_and(whole)] if whole else []) + ([f"the test modules of {_and(tests)}"] if tests else [])
    return ", and of ".join(parts)


def bytecode_left_out_finding(left_out: Sequence[tuple[str, int, bool]], limit: int,
                              contents: Contents | None = None) -> Finding:
    """LP104: a default build left out bytecode to fit; `left_out` is (distribution name,
    bytes, only its test modules') in the order they are reported."""
    whole = any(not tests_only for _n, _b, tests_only in left_out)
    cost = ("their modules compile at each cold start that imports them" if whole
            else "a handler never imports test modules")
    return Finding("LP104", WARNING, "", None,
                   f"left out the bytecode of {_left_out_phrase(left_out)} to fit within {limit:,} bytes; {cost}",
                   "nothing to do if cold starts are fast enough; to ship all bytecode make room ("
                   + make_room(contents) + "); --compile fails instead of leaving any out, --no-compile ships none")


def oversize_finding(unzipped_total: int, compiled_bytecode: int = 0,
                     would_fit: Sequence[tuple[str, int, bool]] = (), contents: Contents | None = None,
                     before_bytecode: bool = False) -> Finding:
    """LP101 for `unzipped_total` bytes, of which `compiled_bytecode` are .pyc this build wrote.
    The bytecode is the one part the user can drop with a flag, so its share is said exactly;
    `would_fit`: what the default (bytecode where it fits) would have left out, under --compile;
    `before_bytecode`: found before compiling, which was then not done (it would only add)."""
    message = (f"unzipped size {unzipped_total:,} bytes ({units.human(unzipped_total)}) is over Lambda's "
               f"{units.limit(limits.UNZIPPED_BYTES)} limit ({limits.UNZIPPED_BYTES:,} bytes) for the function and all its layers")
    room = make_room(contents, unzipped_total - limits.UNZIPPED_BYTES + 1)
    fix = room
    if compiled_bytecode > 0:
        rest = unzipped_total - compiled_bytecode
        fits = rest < limits.UNZIPPED_BYTES
        message += (f"; {compiled_bytecode:,} bytes ({units.human(compiled_bytecode)}) of it is the bytecode this build "
                    f"compiled: with --no-compile it would be {rest:,} bytes ({units.human(rest)}), "
                    + ("within the limit" if fits else "still over the limit"))
        if fits:
            # Without .pyc Python compiles each module in memory at every cold start (/var/task is read-only).
            fix = ("build with --no-compile (cold starts then compile the modules they import), or "
                   + room)
        else:
            fix = f"--no-compile alone is not enough; {room}"
    if before_bytecode:
        message += "; that is before any bytecode, so the build stopped before compiling"
        fix = f"--no-compile alone is not enough; {room}"
    if would_fit:
        message += (f"; the default (without --compile) would leave out the bytecode of "
                    f"{_left_out_phrase(would_fit)} and fit")
        fix = ("build without --compile (only that bytecode is left out) or with --no-compile (none ships), or "
               + room)
    return Finding("LP101", ERROR, "", None, message, fix)


def check_sizes(unzipped_total: int, zipped: Sequence[tuple[str, int]], layer_count: int,
                compiled_bytecode: int = 0, would_fit: Sequence[tuple[str, int, bool]] = (),
                contents: Contents | None = None) -> list[Finding]:
    """LP101-LP103 on sizes known before upload (unzipped: function + all layers;
    `compiled_bytecode`: the bytes of .pyc this build compiled, 0 when it compiled none;
    `would_fit`: what leaving bytecode out to fit would drop, said when --compile forbade it;
    `contents`: what the package holds, for LP101's ways to make room)."""
    out: list[Finding] = []
    if unzipped_total >= limits.UNZIPPED_BYTES:
        out.append(oversize_finding(unzipped_total, compiled_bytecode, would_fit, contents))
    for path, size in zipped:
        if size > limits.ZIPPED_DIRECT_UPLOAD_BYTES:
            out.append(
                Finding(
                    "LP102",
                    WARNING,
                    path,
                    None,
                    f"zip is {size:,} bytes ({units.human(size)}), over the {units.limit(limits.ZIPPED_DIRECT_UPLOAD_BYTES)} direct-upload limit",
                    "upload it to S3 and deploy from there (S3Bucket/S3Key)",
                )
            )
    if layer_count > limits.MAX_LAYERS:
        out.append(
            Finding(
                "LP103",
                ERROR,
                "",
                None,
                f"{layer_count} layers; a function can use at most {limits.MAX_LAYERS}",
                "merge layers (lambdapack build --layer can put several packages in one)",
            )
        )
    return out
