"""Resolve and install the dependencies for the target: from the resolution cache when
nothing changed, else with uv (and, beside it, the laptop resolution the held-back report
compares against)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lambdapack.assemble.stage import dependency_entries
from lambdapack.cache.keys import digest
from lambdapack.errors import BuildError, LambdapackError
from lambdapack.host import processes
from lambdapack.pipeline.cachekeys import resolution_key_of
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.depinputs import index_url, requirement_sources, uv_requirements_file
from lambdapack.pipeline.resolutions import Installed, fully_pinned, load_installed, store_installed
from lambdapack.resolve.distributions import (
    Distribution,
    missing_requirements,
    native_builds,
    read_distributions,
)
from lambdapack.resolve.inputs import Requirements
from lambdapack.resolve.install import (
    Limits,
    check_index_locations,
    compile_argv,
    deadline_error,
    install_argv,
    parse_compile_output,
    resolve_limits,
    run_uv,
    start_uv,
    stop_uv,
    uv_environment,
)
from lambdapack.resolve.uvfailure import classify_uv_failure

__all__ = ["install"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _UvRun:
    """One install with uv: what it needs besides the build context."""

    uv: str
    reqs: Requirements
    req_file: Path
    site: Path
    env: dict[str, str]  # uv's environment, with the limits applied


def install(ctx: BuildContext, reqs: Requirements, uv: str, env: dict[str, str]) -> Installed:
    """Resolve and install for the target: from the cache when nothing changed, else with uv."""
    opts, cache = ctx.opts, ctx.cache
    # Before anything runs: a bad index or limit is a usage error, not "package does not exist".
    check_index_locations(opts.install, env)
    limits = resolve_limits(opts.install, env)
    if reqs.source is None:
        return Installed(reqs, [], [], {}, [], {}, "none")
    req_file = uv_requirements_file(reqs, ctx.work)
    index = index_url(opts)
    res_key = resolution_key_of(ctx, reqs, req_file, env)
    if cache is not None and not opts.refresh:
        hit = cache.load_resolution(res_key, fully_pinned(reqs))
        if hit is not None:
            cached = load_installed(cache, hit, reqs, ctx.target)
            if cached is not None:
                cached.resolution = (res_key, digest(hit.dists_json()))
                ctx.say(f"dependencies: {len(cached.dists)} distributions from the cache (no resolution needed)")
                return cached
    site = ctx.work / "site"
    site.mkdir()
    ctx.say(f"resolving and installing for {ctx.target.describe()} with uv ({ctx.target.uv_platform})")
    run = _UvRun(uv, reqs, req_file, site, uv_environment(env, limits))
    laptop = _run_uv(ctx, run, limits)
    dists = _installed_dists(ctx, site, reqs)
    entries = dependency_entries(site, dists, work=ctx.work)
    files = [(e.arcname, e.path, e.executable, e.distribution) for e in entries]
    installed = Installed(reqs, dists, files, {}, None, laptop, "uv")
    if cache is not None:
        installed = store_installed(cache, installed, index, res_key)
    return installed


def _run_uv(ctx: BuildContext, run: _UvRun, limits: Limits) -> dict[str, str]:
    """Install into run.site; returns the laptop resolution (empty when not asked for or late)."""
    from lambdapack.resolve.heldback import laptop_platform
    opts, target, python = ctx.opts, ctx.target, sys.executable
    ends = time.monotonic() + limits.deadline
    laptop_proc = None
    laptop: dict[str, str] = {}
    try:
        if opts.held_back:
            laptop_proc = start_uv(compile_argv(run.uv, target, run.req_file, python, opts.install,
                                                laptop_platform(target)), run.env)
        res = run_uv(install_argv(run.uv, target, run.req_file, run.site, python, opts.install), run.env,
                     limits.deadline)
        if laptop_proc is not None and res.returncode == 0:
            # The side resolution only feeds the held-back report: past the deadline it is dropped.
            try:
                out, _err = laptop_proc.communicate(timeout=max(ends - time.monotonic(), 0.1))
                if laptop_proc.returncode == 0:
                    laptop = parse_compile_output(out)
            except processes.Timeout:
                log.info("the held-back resolution did not finish within the deadline; no held-back report")
    finally:
        # Never leave the side resolution running (failed install, Ctrl-C, SIGTERM).
        if laptop_proc is not None:
            stop_uv(laptop_proc)
    if res.timed_out:
        raise deadline_error(f"resolving and installing for {target}", limits, res.stderr,
                             index_url(opts) or "https://pypi.org/simple")
    if res.returncode != 0:
        raise _uv_failure(ctx, run, res.stderr, limits.request_timeout)
    return laptop


def _uv_failure(ctx: BuildContext, run: _UvRun, stderr: str, network_timeout: int) -> LambdapackError:
    log.debug("uv stderr:\n%s", stderr)
    reqs, req_file = run.reqs, run.req_file
    err = classify_uv_failure(stderr, ctx.target, reqs.kind, sources=requirement_sources(reqs, req_file),
                              network_timeout=network_timeout)
    if reqs.uv_file is not None:  # uv read a pipe's work copy: name what the user gave instead
        forms = {str(req_file)}
        with contextlib.suppress(ValueError):  # uv shows paths under its cwd relative to it
            forms.add(os.path.relpath(req_file))
        for form in sorted(forms, key=len, reverse=True):
            err.message = err.message.replace(form, reqs.display_name)
    return err


def _installed_dists(ctx: BuildContext, site: Path, reqs: Requirements) -> list[Distribution]:
    """The distributions uv installed, refused when one was built here or one is missing."""
    target = ctx.target
    dists = read_distributions(site)
    built = native_builds(dists)
    if built:
        names = ", ".join(f"{d.display_name} {d.version}" for d in built)
        raise BuildError(
            f"{names}: only a source distribution with native code exists for {target}; "
            "building it here would compile it for this machine, not for Lambda",
            "pin a version that ships a manylinux wheel, or build that package on "
            f"{target.runtime.os} {target.arch.machine} and install the wheel with --find-links",
        )
    missing = missing_requirements(reqs.top_level, dists, target)
    if missing:
        raise BuildError(
            f"requested but not installed for {target}: {', '.join(str(r) for r in missing)}",
            "this is a bug in the resolver step; please report it with --debug output",
        )
    return dists
