"""The build's use of the cache around the attempts: opening it (with the remote cache behind
it when one is configured), pruning it afterwards, and naming what was being done when an
OSError names a path."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.cache.local import Cache, default_cache_dir
from lambdapack.errors import CREATING_CACHE, LambdapackError, Operation, from_os_error
from lambdapack.pipeline.options import BuildOptions
from lambdapack.pipeline.result import BuildResult
from lambdapack.progress import Progress

if TYPE_CHECKING:
    from lambdapack.cache.store import CacheStore

__all__ = ["open_cache", "operation_on", "prune", "remote_warnings"]


def open_cache(opts: BuildOptions, warnings: list[str], say: Progress) -> CacheStore | None:
    """The build cache, checked writable before any work. A location the user chose
    (--cache-dir, $LAMBDAPACK_CACHE_DIR) that cannot be used is an error; the default
    one (under $XDG_CACHE_HOME or the platform's cache dir) degrades to building
    without a cache, with a warning: the user never asked for it, and the build can
    still succeed."""
    chosen = opts.cache_dir is not None or bool(os.environ.get("LAMBDAPACK_CACHE_DIR"))
    root = opts.cache_dir or default_cache_dir(os.environ)
    try:
        cache = Cache(root)
        cache.check_writable()
    except OSError as e:
        err = from_os_error(e, CREATING_CACHE, root)
        if chosen:
            raise err from e
        warnings.append(f"{err.message}; built without a cache "
                        "(pass --cache-dir DIR to use another location, or --no-cache to skip it)")
        say(f"cache: {root} cannot be used; building without a cache")
        return None
    if opts.remote_cache:
        return _with_remote(cache, opts.remote_cache, opts.remote_cache_read_only)
    return cache


def _with_remote(local: Cache, url: str, read_only: bool) -> CacheStore:
    """The local cache in front of the remote one (imported only now: boto3 comes with it)."""
    from lambdapack.aws.s3location import parse_s3_url
    from lambdapack.cache.remote import Remote
    from lambdapack.cache.tiered import TieredCache

    return TieredCache(local, Remote(parse_s3_url(url, "--remote-cache"), read_only))


def remote_warnings(cache: CacheStore | None) -> list[str]:
    """What the remote cache warned about during the build (none without a remote)."""
    return list(getattr(cache, "warnings", ()))


def prune(cache: CacheStore, cap: int, result: BuildResult, say: Progress) -> None:
    """Outside the shared lock: pruning takes the exclusive one. The zips are in place
    by now, so a failure here is a warning, not a failed build."""
    try:
        if cache.auto_prune(cap):
            from lambdapack.units import human

            say(f"cache: over its {human(cap)} cap; pruned the least recently used entries")
    except (LambdapackError, OSError) as e:
        result.warnings.append(f"the cache could not be pruned: {getattr(e, 'message', e)}")


def operation_on(e: OSError, places: Sequence[tuple[Path, Operation]]) -> Operation | None:
    """What lambdapack was doing with the file an OSError names: the first place
    (cache, temp dir, source tree) that holds it, or None when it is elsewhere."""
    if e.filename is None:
        return None
    name = Path(os.fsdecode(e.filename)).absolute()
    for root, op in places:
        if name.is_relative_to(root.absolute()):
            return op
    return None
