"""`lambdapack cache`: show, clean or prune the build cache."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from lambdapack.cli.arguments import add_format
from lambdapack.cli.helpformat import ExitCodesFormatter
from lambdapack.cli.style import mb
from lambdapack.config.settings import CACHE_MAX_SIZE, Layers, cache_max_bytes, cache_root
from lambdapack.errors import CREATING_CACHE, exit_codes_help, from_os_error


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    k = sub.add_parser(
        "cache", help="show, clean or prune the build cache",
        description="The cache holds resolutions, unpacked wheels, compressed zip members and finished zips. "
        "Location: --cache-dir, else $LAMBDAPACK_CACHE_DIR, else the platform's user cache directory.",
        epilog=exit_codes_help("cache"),
        formatter_class=ExitCodesFormatter,
    )
    k.add_argument("action", choices=("info", "clean", "prune"))
    k.add_argument("--max-size", metavar="SIZE", default=None,
                   help="prune: shrink to at most SIZE (e.g. 500M, 2G; default $LAMBDAPACK_CACHE_MAX_SIZE, else 5G), "
                   "least recently used first")
    k.add_argument("--cache-dir", type=Path, metavar="DIR")
    add_format(k)


def _layers(args: argparse.Namespace) -> Layers:
    flags = {"cache_dir": args.cache_dir, CACHE_MAX_SIZE.name: args.max_size}
    return Layers(flags={k: v for k, v in flags.items() if v is not None}, environ=os.environ)


def run(args: argparse.Namespace) -> int:
    from lambdapack.cache.local import Cache

    layers = _layers(args)
    root = cache_root(layers)
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
        result = {"version": 1, "path": str(root), "freed_bytes": freed}
    else:
        limit = cache_max_bytes(layers)
        freed = cache.prune(limit)
        result = {"version": 1, "path": str(root), "freed_bytes": freed, "max_bytes": limit}
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.action}: freed {mb(freed)} in {root}")
    return 0


def _print_info(args: argparse.Namespace, root: Path, info: dict[str, dict[str, int]]) -> None:
    total = sum(v["bytes"] for v in info.values())
    if args.format == "json":
        print(json.dumps({"version": 1, "path": str(root), "total_bytes": total, "kinds": info}, indent=2))
    else:
        print(f"cache: {root}")
        for kind, v in info.items():
            print(f"  {kind:<12} {v['entries']:>7} entries {v['files']:>8} files {mb(v['bytes']):>10}")
        print(f"  {'total':<12} {'':>31} {mb(total):>10}")
