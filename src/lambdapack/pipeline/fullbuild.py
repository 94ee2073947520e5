"""The full path of an attempt, when the no-change shortcut missed: load the dependency
input, install, stage, verify and pack, with the held-back lookups running alongside; then
remember the inputs so the next identical build takes the shortcut."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

from lambdapack.pipeline.cachekeys import resolution_key_of
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.depinputs import index_url, load_inputs, uv_requirements_file
from lambdapack.pipeline.installing import install
from lambdapack.pipeline.resolutions import remember_held_back
from lambdapack.pipeline.result import BuildResult
from lambdapack.pipeline.reuse import save_inputs_pointer
from lambdapack.pipeline.sources import Sources
from lambdapack.pipeline.staging import stage_verify_pack
from lambdapack.resolve.heldback import HeldBack, find_held_back
from lambdapack.resolve.install import find_uv, uv_environment

__all__ = ["build_fully"]


def build_fully(ctx: BuildContext, src: Sources, inputs_key: str | None) -> BuildResult:
    """`inputs_key`: where to remember this build (None: not remembered)."""
    n_base = len(ctx.warnings)  # the walk's notes are fresh on every build: never stored with a pointer
    opts, cache = ctx.opts, ctx.cache
    uv = find_uv()
    env = uv_environment(os.environ)
    reqs = load_inputs(ctx.dep_kind, ctx.dep_path, opts, uv, ctx.work, env)
    inst = install(ctx, reqs, uv, env)
    held_back_job: Future[list[HeldBack]] | None = None
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        if opts.held_back and inst.held_back is None and inst.laptop:
            # The index lookups overlap with staging, verification and compression.
            held_back_job = pool.submit(find_held_back, inst.dists, inst.laptop, ctx.target, index_url(opts))
        result, art_key = stage_verify_pack(ctx, inst, src)
        if held_back_job is not None:
            result.held_back = held_back_job.result()
            if cache is not None and inst.source == "uv":
                res_key = resolution_key_of(ctx, reqs, uv_requirements_file(reqs, ctx.work), env)
                remember_held_back(cache, res_key, result.held_back)
        elif opts.held_back and inst.held_back:
            result.held_back = inst.held_back
        if cache is not None and inputs_key is not None and art_key is not None:
            save_inputs_pointer(cache, inputs_key, art_key, result, inst, result.warnings[n_base:])
        return result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
