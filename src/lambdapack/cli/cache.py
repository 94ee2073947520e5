"""`lambdapack cache`: show, clean or prune the build cache."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.cli.arguments import add_format, epilog
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.jsonout import print_json
from lambdapack.cli.jsonout import result as json_result
from lambdapack.cli.style import mb
from lambdapack.errors import CREATING_CACHE, UsageError, from_os_error

if TYPE_CHECKING:
    from lambdapack.config.settings import Layers


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    k = sub.add_parser(
        "cache", help="show, clean or prune the build cache",
        description="The cache holds resolutions, unpacked wheels, compressed zip members and finished zips. "
        "Location: --cache-dir, else $LAMBDAPACK_CACHE_DIR, else the platform's user cache directory.",
        epilog=epilog("cache", "lambdapack cache info", "lambdapack cache prune --max-size 2G",
                      "lambdapack cache clean --cache-dir .lambdapack-cache --format json"),
        formatter_class=ExitCodesFormatter,
    )
    k.add_argument("action", choices=("info", "clean", "prune"), metavar="{info,clean,prune}",
                   help="info: entries, files and bytes by kind; clean: remove everything; "
                   "prune: remove the least recently used until the cache fits --max-size")
    k.add_argument("--max-size", metavar="SIZE", default=None,
                   help="prune only: shrink to at most SIZE (e.g. 500M, 2G; default $LAMBDAPACK_CACHE_MAX_SIZE, "
                   "else 5G), least recently used first")
    k.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="the cache to act on (default: $LAMBDAPACK_CACHE_DIR, else the user cache directory)")
    add_format(k, "cache")


def _layers(args: argparse.Namespace) -> Layers:
    # Imported here: the settings bring the pipeline's options (~70 ms), which the parser,
    # made for every command, has no use for.
    from lambdapack.config.settings import CACHE_MAX_SIZE, Layers

    flags = {"cache_dir": args.cache_dir, CACHE_MAX_SIZE.name: args.max_size}
    return Layers(flags={k: v for k, v in flags.items() if v is not None}, environ=os.environ)


def run(args: argparse.Namespace) -> int:
    from lambdapack.cache.local import Cache
    from lambdapack.config.settings import cache_max_bytes, cache_root

    if args.max_size is not None and args.action != "prune":
        # Said, not ignored: `cache info --max-size 1G` reads as if it did something.
        raise UsageError(f"--max-size is for `cache prune`, not `cache {args.action}`",
                         f"run `lambdapack cache prune --max-size {args.max_size}`")
    layers = _layers(args)
    root = cache_root(layers).absolute()
    try:
        cache = Cache(root)
        if args.action != "info":
            cache.check_writable()
    except OSError as e:
        raise from_os_error(e, CREATING_CACHE, root) from e
    if args.action == "info":
        _print_info(args, root, cache.info())
        return 0
    if args.action == "clean":
        freed = cache.clean()
        result: dict[str, object] = {"action": "clean", "path": str(root), "freed_bytes": freed}
    else:
        limit = cache_max_bytes(layers)
        freed = cache.prune(limit)
        result = {"action": "prune", "path": str(root), "freed_bytes": freed, "max_bytes": limit}
    if args.format == "json":
        print_json(json_result(result))
    else:
        print(f"{args.action}: freed {mb(freed)} in {root}")
    return 0


def _print_info(args: argparse.Namespace, root: Path, info: dict[str, dict[str, int]]) -> None:
    total = sum(v["bytes"] for v in info.values())
    if args.format == "json":
        print_json(json_result({"action": "info", "path": str(root), "total_bytes": total, "kinds": info}))
    else:
        print(f"cache: {root}")
        for kind, v in info.items():
            print(f"  {kind:<12} {v['entries']:>7} entries {v['files']:>8} files {mb(v['bytes']):>10}")
        print(f"  {'total':<12} {'':>31} {mb(total):>10}")
