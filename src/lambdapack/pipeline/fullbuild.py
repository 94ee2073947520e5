"""The full path of an attempt, when the no-change shortcut missed: load the dependency
input, install, stage, verify and pack, with the held-back lookups running alongside; then
remember the inputs so the next identical build takes the shortcut. A build that fails
after the install still reports the held-back notes it computed (`BuildFailed`)."""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from lambdapack.errors import LambdapackError
from lambdapack.pipeline.cachekeys import ceiling_of, resolution_key_of, uv_target
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.depinputs import load_inputs, uv_requirements_file
from lambdapack.pipeline.installing import install
from lambdapack.pipeline.resolutions import Installed, remember_held_back
from lambdapack.pipeline.result import BuildFailed, BuildResult
from lambdapack.pipeline.reuse import save_inputs_pointer
from lambdapack.pipeline.sources import Sources
from lambdapack.pipeline.staging import stage_verify_pack
from lambdapack.resolve.install import effective_locations, find_uv, resolve_limits, uv_environment

if TYPE_CHECKING:
    from lambdapack.resolve.heldback import HeldBack

__all__ = ["build_fully"]

log = logging.getLogger(__name__)


def build_fully(ctx: BuildContext, src: Sources, inputs_key: str | None) -> BuildResult:
    """`inputs_key`: where to remember this build (None: not remembered)."""
    n_base = len(ctx.warnings)  # the walk's notes are fresh on every build: never stored with a pointer
    opts, cache = ctx.opts, ctx.cache
    uv = find_uv()
    env = uv_environment(os.environ)
    reqs = load_inputs(ctx.dep_kind, ctx.dep_path, opts, uv, ctx.work, env)
    ctx.warnings.extend(reqs.notes)  # e.g. a uv.lock re-locked in a copy (--relock)
    inst = install(ctx, reqs, uv, env)
    held_back_job: Future[list[HeldBack]] | None = None
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        if opts.held_back and inst.held_back is None and inst.laptop:
            # The index lookups overlap with staging, verification and compression.
            held_back_job = pool.submit(_held_back, ctx, env, inst)
        try:
            result, art_key = stage_verify_pack(ctx, inst, src)
        except BuildFailed as e:
            e.result.held_back = _notes_of_failed(held_back_job, inst, opts.held_back)
            raise
        except LambdapackError as e:
            raise _after_install(ctx, inst, e, _notes_of_failed(held_back_job, inst, opts.held_back)) from e
        if held_back_job is not None and not held_back_job.done():
            with ctx.stage("looking up newer versions on the index (held back for the target)"):
                held_back_job.exception()  # waits; its error, if any, comes from _notes below
        result.held_back = _notes(held_back_job, inst, opts.held_back)
        if held_back_job is not None and cache is not None and inst.source == "uv":
            res_key = resolution_key_of(ctx, reqs, uv_requirements_file(reqs, ctx.work), env)
            remember_held_back(cache, res_key, result.held_back)
        if cache is not None and inputs_key is not None and art_key is not None:
            save_inputs_pointer(cache, inputs_key, art_key, result, inst, result.warnings[n_base:])
        return result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _held_back(ctx: BuildContext, env: dict[str, str], inst: Installed) -> list[HeldBack]:
    """The lookups, on the locations uv used and for the manylinux it resolved for."""
    # Imported here (in its thread): index pages and version specifiers are ~20 ms of modules
    # that a build from the cache never needs.
    from lambdapack.resolve.heldback import find_held_back
    from lambdapack.resolve.indexlisting import Listing, flat_files, search_order

    opts = ctx.opts
    locs = effective_locations(opts.install, env)
    timeout = resolve_limits(opts.install, env).network_timeout
    indexes, every = search_order(locs, env)
    listing = Listing(indexes, flat_files(locs.find_links, timeout), every)
    ceiling = ceiling_of(ctx, env)
    uv_glibc = ceiling.glibc if ceiling is not None else ctx.target.runtime.uv_manylinux
    return find_held_back(inst.dists, inst.laptop, ctx.target, listing, uv_glibc, timeout)


def _notes(job: Future[list[HeldBack]] | None, inst: Installed, wanted: bool) -> list[HeldBack]:
    """The held-back notes: this build's lookups, else the ones stored with its resolution."""
    if job is not None:
        return job.result()
    return list(inst.held_back or []) if wanted else []


def _notes_of_failed(job: Future[list[HeldBack]] | None, inst: Installed, wanted: bool) -> list[HeldBack]:
    """As `_notes`, for a build that already failed: a failing lookup must not hide its error."""
    try:
        return _notes(job, inst, wanted)
    except Exception:  # the build's own error is the one to report
        log.debug("held-back lookups failed", exc_info=True)
        return []


def _after_install(ctx: BuildContext, inst: Installed, e: LambdapackError, held: list[HeldBack]) -> BuildFailed:
    """Any other error after the install, as a failed build with what is known (the installed
    distributions, the held-back notes); it keeps its message, hint and exit code."""
    result = BuildResult(target=ctx.target, inputs=inst.reqs, distributions=inst.dists, held_back=held,
                         warnings=ctx.warnings, native_builds=list(inst.native_builds), **uv_target(ctx))
    return BuildFailed(e.message, result, e.hint, exit_code=e.exit_code)
