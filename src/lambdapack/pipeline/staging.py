"""From an install and the source files to written zips: stage, reuse a cached artifact
when the staged content was built before, else slim, compile, verify and pack (those
steps are imported only then, as they were before the split)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.inspect import sizerules
from lambdapack.inspect.findings import Severity, has_errors
from lambdapack.pack.members import BlobStore
from lambdapack.pipeline.cachekeys import artifact_key_of, uv_target
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.interpreters import compile_interpreter
from lambdapack.pipeline.options import BuildKind
from lambdapack.pipeline.resolutions import Installed
from lambdapack.pipeline.result import BuildFailed, BuildResult
from lambdapack.pipeline.reuse import reuse
from lambdapack.pipeline.sources import Sources
from lambdapack.staged import StagedFile
from lambdapack.units import count

if TYPE_CHECKING:
    from lambdapack.pipeline.packahead import CompressAhead
    from lambdapack.pipeline.verifying import EarlyFacts

__all__ = ["stage_verify_pack"]


def stage_verify_pack(ctx: BuildContext, inst: Installed, src: Sources) -> tuple[BuildResult, str | None]:
    """Stage, verify and pack; also returns the artifact key (None without a cache)."""
    result = BuildResult(target=ctx.target, inputs=inst.reqs, distributions=inst.dists, warnings=ctx.warnings,
                         native_builds=list(inst.native_builds), **uv_target(ctx))
    with ctx.stage("staging"):
        if ctx.opts.attach_layers:
            from lambdapack.pipeline.fromlayers import without_layer_dists

            inst = without_layer_dists(ctx, inst, result)
        dep_prefix = "python/" if ctx.kind.has_layer else ""
        deps, shas = _staged_deps(ctx, inst, src, dep_prefix)
        code = src.code
        interp = compile_interpreter(ctx, src.interp, result)
        art_key = None
        hit = None
        if ctx.cache is not None:
            art_key = artifact_key_of(ctx, interp, src.layer_shas, deps, code, shas)
            hit = ctx.cache.load_artifact(art_key)
    if hit is not None:
        return reuse(ctx, hit, result), art_key

    # Only now the steps that make a new zip: a build whose artifact is cached never loads them.
    from lambdapack.pipeline.assembling import Assembly, bytecode, fit_bytecode, slim
    from lambdapack.pipeline.packing import PackPlan, pack_all

    asm = Assembly(ctx, result, shas, unslimmed=deps)
    unslimmed = deps
    deps = slim(asm, inst, deps, dep_prefix)
    # The limit before the bytecode: a package already over it fails now, not after compiling.
    _check_before_bytecode(ctx, result, _zip_plan(ctx, deps, code), unslimmed, interp is not None)
    pyc: list[StagedFile] = []  # the .pyc this build adds: LP101 says whether --no-compile would fit
    would_fit: list[tuple[str, int, bool]] = []  # under --compile: what the default would leave out
    store = ctx.cache.blobs if ctx.cache is not None else BlobStore(ctx.work / "blobs")
    beside: _Beside | None = None
    try:
        if interp is not None:
            beside = _Beside(ctx, store, deps, shas, inst.source == "uv")
            deps, code, pyc = bytecode(asm, interp, deps, code, beside.compiling)
            deps, code, would_fit = fit_bytecode(asm, deps, code, pyc)
        zips = _zip_plan(ctx, deps, code)
        shipped = {e.arcname for _k, _p, es in zips for e in es}
        _verify(ctx, result, zips, (sum(e.size for e in pyc if e.arcname in shipped), would_fit), unslimmed, shas,
                beside.early if beside is not None else None)
    finally:
        if beside is not None:
            beside.stop()
    # Files hashed moments ago by this build need no second hash when compressed;
    # files that came from the cache do (they may have been altered in place).
    fresh = frozenset(e.arcname for e in code) | (
        frozenset(e.arcname for e in deps) if inst.source == "uv" else frozenset())
    pack_all(ctx, PackPlan(zips, store, shas, fresh), result, art_key)
    return result, art_key


@dataclass
class _Beside:
    """The work beside the compilers, which leave part of a core idle: the dependencies' facts
    (EarlyFacts: also how a rebuild finds their record apart from the .pyc's) from the start;
    their compression (CompressAhead) only when some of their modules compile. With every .pyc
    cached (a code-only change) every member is stored too, and its thread would only contend
    for the GIL (~65 ms of a numpy+pandas rebuild)."""

    ctx: BuildContext
    store: BlobStore
    deps: list[StagedFile]
    shas: dict[str, str]
    fresh: bool
    early: EarlyFacts = field(init=False)
    ahead: CompressAhead | None = None

    def __post_init__(self) -> None:
        from lambdapack.pipeline.verifying import EarlyFacts

        self.early = EarlyFacts(self.ctx, self.deps, self.shas)

    def compiling(self) -> None:
        from lambdapack.pipeline.packahead import CompressAhead

        self.ahead = CompressAhead(self.store, self.deps, self.ctx.opts.compresslevel, self.shas, self.fresh)

    def stop(self) -> None:
        if self.ahead is not None:
            self.ahead.stop()


def _staged_deps(ctx: BuildContext, inst: Installed, src: Sources,
                 prefix: str) -> tuple[list[StagedFile], dict[str, str]]:
    """The installed files as staged files under `prefix`, and every content hash known so far.
    In a function zip the user's files win over a dependency's of the same name (said as a warning)."""
    deps = [StagedFile(prefix + rel, path, exe, path.stat().st_size, label) for rel, path, exe, label in inst.files]
    shas = {prefix + rel: sha for rel, sha in inst.shas.items()}
    code = src.code
    if code:
        dep_names = {e.arcname for e in deps}
        clash = sorted({e.top_level for e in code if e.arcname in dep_names})
        if clash and ctx.kind is BuildKind.FUNCTION:
            ctx.warnings.append(
                f"your source tree and the dependencies both provide {', '.join(clash)}; your files are used"
            )
            deps = [e for e in deps if e.arcname not in {c.arcname for c in code}]
        shas.update(src.code_shas)
    return deps, shas


def _zip_plan(ctx: BuildContext, deps: list[StagedFile],
              code: list[StagedFile]) -> list[tuple[str, Path, list[StagedFile]]]:
    """Which files go into which zip, in packing order."""
    if ctx.kind is BuildKind.FUNCTION:
        assert ctx.fn_out is not None
        return [("function", ctx.fn_out, deps + code)]
    if ctx.kind is BuildKind.LAYER:
        assert ctx.layer_out is not None
        return [("layer", ctx.layer_out, deps)]
    assert ctx.fn_out is not None and ctx.layer_out is not None
    return [("function", ctx.fn_out, code), ("layer", ctx.layer_out, deps)]


def _files(zips: list[tuple[str, Path, list[StagedFile]]]) -> list[StagedFile]:
    return [e for _k, _p, es in zips for e in es]


def _unzipped(ctx: BuildContext, zips: list[tuple[str, Path, list[StagedFile]]]) -> int:
    """Every unzipped byte Lambda counts: the attached layers, then each zip's files."""
    return ctx.attached_unzipped + sum(e.size for _k, _p, es in zips for e in es)


def _layer_count(ctx: BuildContext) -> int:
    return len(ctx.opts.attach_layers) + (1 if ctx.kind is BuildKind.SPLIT else 0)


def _check_before_bytecode(ctx: BuildContext, result: BuildResult, zips: list[tuple[str, Path, list[StagedFile]]],
                           unslimmed: list[StagedFile], compiles: bool) -> None:
    """LP101 as soon as the staged sizes are known: over the unzipped limit without any bytecode,
    no bytecode can help (compiling only adds; bytecodefit decides when the .pyc are the excess)."""
    total = _unzipped(ctx, zips)
    if total < UNZIPPED_BYTES:
        return
    from lambdapack.pipeline.assembling import contents_of

    result.unzipped_total = total
    result.findings.append(sizerules.oversize_finding(total, contents=contents_of(ctx, _files(zips), unslimmed),
                                                      before_bytecode=compiles))
    result.findings += sizerules.check_sizes(0, [], _layer_count(ctx))  # LP103, as verification would say
    _size_breakdown(ctx, result, zips)
    raise BuildFailed("the package is over Lambda's unzipped limit before any bytecode (LP101); no zip was written",
                      result)


def _verify(ctx: BuildContext, result: BuildResult, zips: list[tuple[str, Path, list[StagedFile]]],
            pyc: tuple[int, list[tuple[str, int, bool]]], unslimmed: list[StagedFile],
            shas: dict[str, str], early: EarlyFacts | None = None) -> None:
    """The rules and the limits known before packing, reported together; any error stops here.
    `pyc`: the bytes of bytecode this build compiled and ships, and what the default would leave out."""
    from lambdapack.pipeline.assembling import contents_of
    from lambdapack.pipeline.verifying import allow_secrets, verify

    result.findings += allow_secrets(ctx.opts.allow_secrets, verify(ctx, [(k, es) for k, _p, es in zips], shas, early))
    result.unzipped_total = _unzipped(ctx, zips)
    contents = contents_of(ctx, _files(zips), unslimmed) if result.unzipped_total >= UNZIPPED_BYTES else None
    result.findings += sizerules.check_sizes(result.unzipped_total, [], _layer_count(ctx), *pyc, contents)
    if has_errors(result.findings):
        _size_breakdown(ctx, result, zips)
        n = sum(1 for f in result.findings if f.severity is Severity.ERROR)
        raise BuildFailed(f"verification failed: {count(n, 'problem')} found; no zip was written", result)


def _size_breakdown(ctx: BuildContext, result: BuildResult, zips: list[tuple[str, Path, list[StagedFile]]]) -> None:
    """A build failing before packing still says where the bytes are (the size table, --report)."""
    from lambdapack.pipeline.sizereports import staged_reports

    deps_zip = "function" if ctx.kind is BuildKind.FUNCTION else "layer"
    result.size_reports = staged_reports(zips, deps_zip, result.saved_by_dist)
