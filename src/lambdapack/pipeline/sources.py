"""What a build reads before it resolves: the user's source files, the interpreter for
bytecode and the attached layers, each hashed once (both cache keys use them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.assemble.ignore import LeftOut, left_out_line
from lambdapack.assemble.stage import SourceOptions, source_entries
from lambdapack.cache.keys import files_key
from lambdapack.pack.members import file_sha256
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.interpreters import find_interpreter_cached
from lambdapack.pipeline.options import CompileMode
from lambdapack.staged import StagedFile

if TYPE_CHECKING:
    from lambdapack.host.interpreters import Interpreter

__all__ = ["Sources", "read_sources"]


@dataclass(frozen=True)
class Sources:
    code: list[StagedFile]  # the user's files for the function zip (none for a layer)
    code_shas: dict[str, str]  # arcname -> content sha256
    interp: Interpreter | None  # found for the target's version (None with --no-compile)
    layer_shas: list[str]  # content keys of the --with-layer zips (empty without a cache)
    left_out: list[LeftOut]  # what .gitignore, .lambdapackignore and the packaging rules left out


def read_sources(ctx: BuildContext) -> Sources:
    left_out: list[LeftOut] = []
    code = _code_entries(ctx, left_out)
    code_shas = {e.arcname: file_sha256(e.path) for e in code}
    # Looked up once: the inputs key names it, and bytecode is compiled with it.
    interp = (find_interpreter_cached(ctx.target.runtime.python, ctx.cache)
              if ctx.compile is not CompileMode.OFF else None)
    # --with-layer zips can be large: hashed once, for both cache keys (they opened fine above).
    layer_shas = [_layer_digest(p) for p in ctx.opts.attach_layers] if ctx.cache is not None else []
    return Sources(code, code_shas, interp, layer_shas, left_out)


def _code_entries(ctx: BuildContext, left_out: list[LeftOut]) -> list[StagedFile]:
    """The user's source files that go into the function zip (none for a layer); the
    walk's notes (skipped special files, files from outside SRC_DIR) go to the warnings,
    what the ignore and packaging rules left out to `left_out` and one progress line.
    The same walk feeds the no-change shortcut's key, so an ignored file never counts."""
    opts = ctx.opts
    if opts.src is None or not ctx.kind.has_code:
        return []
    skip = [p for p in (ctx.fn_out, ctx.layer_out) if p is not None] + [Path("dist"), ctx.work]
    skip += _installed_project_sources(ctx)
    if ctx.cache is not None:
        skip.append(ctx.cache.root)  # a cache inside the source tree must never be zipped
    options = SourceOptions(
        exclude_tests=opts.exclude_tests,
        extra_excludes=opts.excludes,
        skip_paths=[p for p in skip if p.exists()],
        follow_external_links=opts.follow_external_links,
        keeps=opts.keeps,
    )
    code = source_entries(opts.src, options, notes=ctx.warnings, left_out=left_out)
    line = left_out_line(left_out)
    if line is not None:
        ctx.say(line)
    return code


def _installed_project_sources(ctx: BuildContext) -> list[Path]:
    """A packaged uv project is built and installed as a wheel from its uv.lock: its package's
    sources (src/, or the package at the root) ship as the installed package, not again as code."""
    lock = ctx.dep_path
    if ctx.dep_kind != "lock" or not isinstance(lock, Path) or lock.name != "uv.lock":
        return []
    from lambdapack.errors import InputError
    from lambdapack.resolve.pyprojectfile import read_toml
    from lambdapack.resolve.uvproject import is_packaged, package_sources

    try:
        data = read_toml(lock.with_name("pyproject.toml"))
    except InputError:
        return []  # the export reports it
    return package_sources(lock.parent, data) if is_packaged(data) else []


def _layer_digest(path: Path) -> str:
    """Content key of a --with-layer: the zip's bytes, or a directory's files (as `check`
    reads a layer given as a directory: names, contents, executable bits)."""
    if not path.is_dir():
        return file_sha256(path)
    return files_key([(f.relative_to(path).as_posix(), file_sha256(f), os.access(f, os.X_OK))
                          for f in path.rglob("*") if f.is_file()])
