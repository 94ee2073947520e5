"""The local interpreter bytecode is compiled with: found once and remembered in the cache,
then accepted, warned about or refused according to --compile."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.errors import UsageError
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.options import CompileMode
from lambdapack.pipeline.result import BuildResult

if TYPE_CHECKING:
    from lambdapack.cache.store import CacheStore
    from lambdapack.host.interpreters import Interpreter

__all__ = ["compile_interpreter", "find_interpreter_cached"]


def find_interpreter_cached(minor: tuple[int, int], cache: CacheStore | None) -> Interpreter | None:
    """find_interpreter, remembered across runs while the interpreter file is unchanged.

    Probing candidates starts processes (~0.1 s each); a no-change rebuild must not pay that.
    """
    from lambdapack.host.interpreters import Interpreter, find_interpreter
    key = f"{minor[0]}.{minor[1]}"
    known = cache.load_interpreter(key) if cache is not None else None
    if known is not None:
        return Interpreter(known.path, known.version, known.machine)
    interp = find_interpreter(minor)
    if interp is not None and cache is not None:
        from lambdapack.cache.records import InterpreterRecord

        st = Path(interp.path).stat()
        major, minor_, micro = interp.version
        cache.save_interpreter(key, InterpreterRecord(interp.path, (major, minor_, micro), interp.machine,
                                                      (st.st_mtime_ns, st.st_size)))
    return interp


def compile_interpreter(ctx: BuildContext, interp: Interpreter | None, result: BuildResult) -> Interpreter | None:
    """The interpreter of the target's minor version that was found (any machine: bytecode
    is portable), or None, said as a warning or, with --compile, as an error."""
    if ctx.compile is CompileMode.OFF:
        return None
    if interp is None:
        version = ctx.target.runtime.version
        msg = (f"no Python {version} found on this machine (PATH, pyenv, uv-managed), so the "
               f"zip has no bytecode and Python will compile on every cold start; install one (e.g. "
               f"`uv python install {version}`) or pass --no-compile to silence this")
        if ctx.compile is CompileMode.ON:
            raise UsageError(msg.split(", so")[0] + "; --compile needs one",
                             f"install Python {version} (e.g. `uv python install "
                             f"{version}`), or drop --compile")
        result.warnings.append(msg)
    return interp
