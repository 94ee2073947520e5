"""What a build is asked to do: the options callers pass, and the words some of them take."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from lambdapack.errors import UsageError
from lambdapack.resolve.install import InstallOptions
from lambdapack.staged import TextChoice

__all__ = ["BuildKind", "BuildOptions", "CompileMode"]


class BuildKind(TextChoice):
    """Which zips a build writes: a function, a layer, or both (code and dependencies apart)."""

    FUNCTION = "function"
    LAYER = "layer"
    SPLIT = "split"

    @classmethod
    def parse(cls, word: str) -> BuildKind:
        try:
            return cls(word)
        except ValueError:
            raise UsageError(f"unknown build kind {word!r}") from None

    @property
    def has_code(self) -> bool:
        """The build writes a function zip (the user's source tree goes into it)."""
        return self is not BuildKind.LAYER

    @property
    def has_layer(self) -> bool:
        """The build writes a layer zip (dependencies under python/)."""
        return self is not BuildKind.FUNCTION

    @property
    def zips(self) -> tuple[str, ...]:
        """The zips written, in the order they are packed and cached."""
        return {BuildKind.FUNCTION: ("function",), BuildKind.LAYER: ("layer",),
                BuildKind.SPLIT: ("function", "layer")}[self]


class CompileMode(TextChoice):
    """--compile / --no-compile: ship bytecode when an interpreter is found, always, or never."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"

    @classmethod
    def parse(cls, word: str) -> CompileMode:
        # Any other word has always behaved as "auto" (only "on" and "off" were compared);
        # kept so, rather than turning a caller's typo into a new error.
        try:
            return cls(word)
        except ValueError:
            return cls.AUTO


@dataclass(frozen=True)
class BuildOptions:
    # `kind` and `compile` stay plain words (a BuildKind/CompileMode member also fits):
    # repr(BuildOptions) feeds the inputs cache key, and callers pass the words.
    runtime: str
    arch: str
    src: Path | None = None
    kind: str = "function"  # BuildKind: "function" | "layer" | "split"
    requirements: Path | None = None
    pyproject: Path | None = None
    lock: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # PEP 735 dependency groups (pyproject [dependency-groups], uv.lock)
    all_extras: bool = False  # every extra the project defines (not with `extras`)
    # A lock's staleness: "locked" (a stale lock is an error) | "frozen" (taken as it is) |
    # "relock" (a stale uv.lock re-locked in a temporary copy; the user's lock is never written)
    lock_mode: str = "locked"
    output: Path | None = None
    layer_output: Path | None = None
    tree_dir: Path | None = None  # --output-dir: the artifact also as an unpacked tree (pack/tree.py)
    exclude_tests: bool = False
    excludes: tuple[str, ...] = ()
    install: InstallOptions = field(default_factory=InstallOptions)
    attach_layers: tuple[Path, ...] = ()  # already-built layers, counted in the limits
    compresslevel: int = 6
    held_back: bool = True
    handler: str | None = None
    use_cache: bool = True
    cache_dir: Path | None = None
    # s3://bucket/prefix: a second store behind the local cache (cache.tiered). Where the cache is
    # kept never decides what is built: both stay out of the repr, which the inputs key reads.
    remote_cache: str | None = field(default=None, repr=False)
    remote_cache_read_only: bool = field(default=False, repr=False)  # untrusted jobs: never write
    refresh: bool = False  # resolve again even when a cached resolution is fresh
    smoke: bool = False  # import-test the package before writing it
    slim: str = "safe"  # none | safe | aggressive (slim.PROFILE_RULES)
    dep_excludes: tuple[str, ...] = ()  # --exclude patterns, applied to dependencies too
    keeps: tuple[str, ...] = ()  # --keep patterns: never removed or stripped
    exclude_runtime_provided: bool = False
    # CompileMode: auto (when an interpreter of the target's version exists; leaves out the dependency
    # bytecode that alone takes the package over the unzipped limit, LP104) | on (all of it) | off
    compile: str = "auto"
    pyc_mode: str = "unchecked-hash"  # or checked-hash
    # Source-tree policy: a symlink leaving SRC_DIR is an error unless deliberately allowed.
    follow_external_links: bool = False
    # Files (fnmatch on the path in the zip) that may ship although they look like secrets.
    allow_secrets: tuple[str, ...] = ()
    # Build for a runtime whose function updates AWS already blocks (facts.runtimes dates).
    allow_blocked_runtime: bool = False
    # The day the runtime's lifecycle is judged on; None: today (tests pass a fixed day).
    today: dt.date | None = None
