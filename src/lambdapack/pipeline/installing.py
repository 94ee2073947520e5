"""Resolve and install the dependencies for the target: from the resolution cache when
nothing changed, else with uv (and, beside it, the laptop resolution the held-back report
compares against)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.assemble.stage import dependency_entries
from lambdapack.cache.keys import digest
from lambdapack.errors import BuildError, LambdapackError
from lambdapack.host import processes
from lambdapack.pipeline.cachekeys import ceiling_of, resolution_key_of
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
    InstallOptions,
    Limits,
    UvResult,
    build_local_wheels,
    check_index_locations,
    closure_only,
    compile_argv,
    deadline_error,
    effective_locations,
    install_argv,
    parse_compile_output,
    proxied_environment,
    resolve_limits,
    run_uv,
    start_uv,
    stop_uv,
    uv_environment,
    with_platform,
)
from lambdapack.resolve.localpaths import local_directory
from lambdapack.resolve.uvfailure import classify_uv_failure
from lambdapack.units import count

if TYPE_CHECKING:
    from lambdapack.pipeline.nativebuilds import NativeBuilder

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
    native: NativeBuilder | None = None  # --build-native: builds what a binary-only install lacked


def install(ctx: BuildContext, reqs: Requirements, uv: str, env: dict[str, str]) -> Installed:
    """Resolve and install for the target: from the cache when nothing changed, else with uv."""
    opts, cache = ctx.opts, ctx.cache
    # Before anything runs: a bad index or limit is a usage error, not "package does not exist".
    check_index_locations(opts.install, env)
    limits = resolve_limits(opts.install, env)
    if reqs.source is None:
        return Installed(reqs, [], [], {}, [], {}, "none")
    # Local directories are built into wheels first: the install itself stays binary-only.
    req_file = build_local_wheels(uv, uv_requirements_file(reqs, ctx.work), ctx.work, sys.executable, opts.install, env)
    index = index_url(opts)
    res_key = resolution_key_of(ctx, reqs, req_file, env)
    if cache is not None and not opts.refresh:
        hit = cache.load_resolution(res_key, fully_pinned(reqs))
        if hit is not None:
            cached = load_installed(cache, hit, reqs, ctx.target)
            if cached is not None:
                cached.resolution = (res_key, digest(hit.dists_json()))
                ctx.say(f"dependencies: {count(len(cached.dists), 'distribution')} from the cache (no resolution needed)")
                return cached
    site = ctx.work / "site"
    site.mkdir()
    ceiling = ceiling_of(ctx, env)
    shown = ctx.target.uv_platform if ceiling is None else (
        f"{ceiling.uv_platform}, index pages cut to glibc {'.'.join(map(str, ceiling.glibc))}")
    # A stage with elapsed time only: uv prints nothing we could count (its bars are not parsed).
    with ctx.stage(f"resolving and installing for {ctx.target.describe()} with uv ({shown})"):
        uv_env = uv_environment(env, limits)
        native = None
        if opts.install.build_native:  # imported here: cross-building brings ~50 ms of modules
            from lambdapack.pipeline.nativebuilds import NativeBuilder

            native = NativeBuilder(ctx, uv, uv_env, limits)
        run = _UvRun(uv, reqs, req_file, site, uv_env, native)
        laptop = _run_uv(ctx, run, limits)
    dists = _installed_dists(ctx, site, reqs)
    entries = dependency_entries(site, dists, work=ctx.work)
    files = [(e.arcname, e.path, e.executable, e.distribution) for e in entries]
    installed = Installed(reqs, dists, files, {}, None, laptop, "uv",
                          native_builds=list(native.records) if native is not None else [])
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
        res = _install_once(ctx, run, limits)
        # --build-native: each failure for want of a wheel builds that package, then uv tries again.
        while res.returncode != 0 and not res.timed_out and run.native is not None \
                and run.native.build_missing(res.stderr, run.req_file):
            res = _install_once(ctx, run, limits)
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


def _install_once(ctx: BuildContext, run: _UvRun, limits: Limits) -> UvResult:
    base = ctx.opts.install if run.native is None else run.native.options(ctx.opts.install)
    req_file = run.req_file if run.native is None else run.native.requirements(run.req_file)
    with _ceiling_index(ctx, run, limits, base) as (install_opts, install_env, shown):
        argv = install_argv(run.uv, ctx.target, req_file, run.site, sys.executable, install_opts)
        if run.reqs.closed:
            argv = closure_only(argv)
        if install_opts is not base:  # the loopback index: uv's next target above the ceiling
            argv = with_platform(argv, _platform_of(ctx, run.env))
        res = run_uv(argv, install_env, limits.deadline)
        return dataclasses.replace(res, stderr=shown(res.stderr))


@contextlib.contextmanager
def _ceiling_index(
    ctx: BuildContext, run: _UvRun, limits: Limits, base: InstallOptions
) -> Iterator[tuple[InstallOptions, dict[str, str], Callable[[str], str]]]:
    """The install options, environment and stderr rewriting for one uv run: unchanged when no
    ceiling applies, else every index and find-links behind the loopback index for the run."""
    from lambdapack.resolve.indexproxy import Upstream, cut_find_links, serving

    ceiling = ceiling_of(ctx, run.env)
    if ceiling is None:
        yield base, run.env, lambda text: text
        return
    locs = effective_locations(base, run.env)
    local_dirs = [d for d in map(local_directory, locs.find_links) if d is not None]
    pages = [_as_url(fl) for fl in locs.find_links if local_directory(fl) is None]
    ups = [Upstream(_as_url(locs.index)), *(Upstream(_as_url(u)) for u in locs.extra),
           *(Upstream(u, flat=True) for u in pages)]
    with serving(ups, ceiling, limits.network_timeout) as proxy:
        n = 1 + len(locs.extra)
        cut = [str(cut_find_links(d, ceiling, ctx.work / f"find-links-{i}")) for i, d in enumerate(local_dirs)]
        opts = dataclasses.replace(base, index_url=proxy.urls[0], extra_index_urls=tuple(proxy.urls[1:n]),
                                   find_links=(*cut, *proxy.urls[n:]))
        yield opts, proxied_environment(run.env), proxy.display
        if proxy.failures:
            log.info("index proxy: upstream errors: %s", "; ".join(proxy.failures[:5]))


def _platform_of(ctx: BuildContext, env: dict[str, str]) -> str:
    ceiling = ceiling_of(ctx, env)
    return ctx.target.uv_platform if ceiling is None else ceiling.uv_platform


def _as_url(location: str) -> str:
    """A local path as a file:// URL (uv takes both; the loopback index fetches URLs)."""
    if "://" in location:
        return location
    return Path(location).resolve().as_uri()


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
