"""The build pipeline: preflight -> (no-change shortcut | install -> stage -> verify -> pack).

Each step is a module of this package named after it; only this module sequences them.
The full path (installing, staging, slimming, bytecode, verification, packing, smoke
tests, held-back lookups) is imported only when the shortcut misses: a no-change rebuild
must start fast.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.cache.total import max_bytes_from
from lambdapack.errors import READING_SOURCE, USING_CACHE, USING_TEMP, BuildError, from_os_error
from lambdapack.pack.members import SourceChanged
from lambdapack.pipeline.buildcache import open_cache, operation_on, prune, remote_warnings
from lambdapack.pipeline.cachekeys import inputs_key_of
from lambdapack.pipeline.context import BuildContext
from lambdapack.pipeline.options import BuildOptions
from lambdapack.pipeline.preflight import Preflight, preflight
from lambdapack.pipeline.result import BuildFailed, BuildResult
from lambdapack.pipeline.reuse import from_inputs_pointer
from lambdapack.pipeline.sizereports import describe_artifacts
from lambdapack.pipeline.sources import read_sources
from lambdapack.progress import Progress
from lambdapack.resolve.inputs import Piped
from lambdapack.sealwatch import not_recordable, note_build

if TYPE_CHECKING:
    from lambdapack.cache.store import CacheStore

__all__ = ["build"]


def build(opts: BuildOptions, progress: Progress | None = None) -> BuildResult:
    """Build the zip(s) described by `opts`. Raises LambdapackError subclasses."""
    say: Progress = progress or (lambda _m: None)
    note_build()  # a run with more than one build leaves no seal (sealwatch)
    pre = preflight(opts, say)
    warnings = list(pre.warnings)
    cap = max_bytes_from(os.environ) if opts.use_cache else 0  # a bad $LAMBDAPACK_CACHE_MAX_SIZE fails now
    cache = open_cache(opts, warnings, say) if opts.use_cache else None
    try:
        with cache.using() if cache is not None else nullcontext():
            if cache is not None:
                cache.sweep()
            result = _attempts(opts, pre, cache, warnings, say)
    except BuildFailed as e:
        e.result.warnings.extend(remote_warnings(cache))
        describe_artifacts(e.result)  # a failed build's reports name their target and findings too
        raise
    except OSError as e:
        places = [(cache.root, USING_CACHE)] if cache is not None else [(Path(tempfile.gettempdir()), USING_TEMP)]
        if opts.src is not None:
            places.append((opts.src, READING_SOURCE))
        op = operation_on(e, places)
        if op is None:
            raise  # the CLI names the path and the error, without an operation
        raise from_os_error(e, op) from e
    # The remote's warnings are this build's news, never stored with its inputs pointer.
    result.warnings.extend(remote_warnings(cache))
    if cache is not None:
        prune(cache, cap, result, say)
    describe_artifacts(result)
    return result


def _attempts(opts: BuildOptions, pre: Preflight, cache: CacheStore | None, warnings: list[str],
              say: Progress) -> BuildResult:
    """Build in a fresh work directory; once more if a cached file turned out altered."""
    for attempt in (1, 2):
        # In the cache's tmp/ when there is a cache: a killed build's leftovers are swept.
        work = Path(tempfile.mkdtemp(prefix=".lambdapack-", dir=cache.tmp if cache is not None else None))
        try:
            return _build_in(BuildContext.attempt(opts, pre, cache, work, warnings, say))
        except SourceChanged as e:
            # A cached file was altered in place: drop its distribution and install it again.
            if cache is None or attempt == 2:
                raise BuildError(f"a file changed while it was being packed: {e}",
                                 "run the build again (with --no-cache if it persists)") from None
            say(f"cache: {e.path} is damaged; reinstalling its distribution")
            cache.discard_owner(e.path)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    raise AssertionError("unreachable: the second attempt returns or raises")


def _build_in(ctx: BuildContext) -> BuildResult:
    """One attempt: the no-change shortcut when the same inputs were built before, else the full path."""
    src = read_sources(ctx)
    if isinstance(ctx.dep_path, Piped):
        not_recordable("piped requirements")  # their bytes are no file a seal could stat
    key = inputs_key_of(ctx, src) if ctx.cache is not None else None
    if ctx.cache is not None and key is not None and not ctx.opts.refresh:
        done = from_inputs_pointer(ctx, ctx.cache, key)
        if done is not None:
            done.source_left_out = src.left_out
            return done
    from lambdapack.pipeline.fullbuild import build_fully

    not_recordable("a full build", stop=True)  # no seal: stop watching the thousands of files it stages
    try:
        result = build_fully(ctx, src, key)
    except BuildFailed as e:  # its report (--format json) says what was left out too
        e.result.source_left_out = src.left_out
        raise
    result.source_left_out = src.left_out
    return result
