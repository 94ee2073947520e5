"""The config seam: built-in defaults, then the config file's defaults, then a function's own
section, then environment variables, then CLI flags (docs/config.md is the reference).

Each setting is declared once in :data:`SETTINGS` (name, flag, environment variables, type,
default); :func:`build_options` turns the layers into today's ``BuildOptions``. No file is
read here: the caller passes the file's sections as mappings (config.projectfile reads them).

Some variables are read, validated and defaulted by the layer that uses them, lazily and with
messages that name the variable (``resolve_limits`` for the timeouts, the build for the cache's
size cap). For those the seam knows the precedence but hands down only flag and file values, and
leaves the field unset when the environment supplies it, so the lower layer reads the same value.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambdapack.cache.local import default_cache_dir
from lambdapack.cache.total import DEFAULT_MAX_BYTES, max_bytes_from, parse_size
from lambdapack.errors import UsageError
from lambdapack.pipeline.options import BuildOptions
from lambdapack.resolve.install import DEFAULT_DEADLINE, DEFAULT_NETWORK_TIMEOUT, InstallOptions


class Source(enum.Enum):
    """Where a setting's value came from, lowest precedence first."""

    DEFAULT = "default"
    FILE = "file"  # the config file's defaults ([tool.lambdapack])
    FUNCTION = "function"  # the function's own section ([tool.lambdapack.functions.NAME])
    ENV = "env"
    FLAG = "flag"


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _path(value: object) -> Path:
    return value if isinstance(value, Path) else Path(_text(value))


def _switch(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _level(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or int(value) not in range(10):
        raise ValueError("expected a deflate level from 0 to 9")
    return int(value)


def _seconds(value: object) -> float:
    # Checked for being positive below (install.resolve_limits), as for the flag.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("expected a number of seconds")
    return float(value)


def _size(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a size")
    return value if isinstance(value, int) else parse_size(_text(value))


def _texts(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of strings")
    return tuple(_text(v) for v in value)


def _paths(value: object) -> tuple[Path, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of paths")
    return tuple(_path(v) for v in value)


def _s3_url(value: object) -> str:
    from lambdapack.aws.s3location import parse_s3_url

    text = _text(value)
    try:
        parse_s3_url(text, "the remote cache")
    except UsageError as e:
        raise ValueError(f"{e.message} ({e.hint})") from None
    return text


_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _yes_no(value: object) -> bool:
    """A switch that an environment variable can set too ("1", "true", "0", ...)."""
    if isinstance(value, bool):
        return value
    word = _text(value).strip().lower()
    if word not in (*_YES, *_NO):
        raise ValueError("expected 1 or 0 (true or false)")
    return word in _YES


def _choice(*words: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in words:
            raise ValueError(f"expected one of {', '.join(words)}")
        return _text(value)

    return parse


@dataclass(frozen=True)
class Setting:
    """One build setting. ``name`` is the BuildOptions field (``install.x``: InstallOptions.x)."""

    name: str
    flag: str | None  # how the command line spells it (None: no flag)
    parse: Callable[[object], Any]  # a file or environment value (or a parsed flag) -> the typed value
    default: Any = None
    env: tuple[str, ...] = ()  # environment variables, first set wins
    # The layer below reads `env` and the default itself, lazily: hand down only flags and files.
    read_below: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("runtime", "--runtime", _text),
    Setting("arch", "--arch", _text),
    Setting("src", "SRC_DIR", _path),
    Setting("kind", "--layer | --split", _choice("function", "layer", "split"), "function"),
    Setting("requirements", "--requirements", _path),
    Setting("pyproject", "--pyproject", _path),
    Setting("lock", "--lock", _path),
    Setting("extras", "--extra", _texts, ()),
    Setting("groups", "--group", _texts, ()),
    Setting("all_extras", "--all-extras", _switch, False),
    Setting("lock_mode", "--locked | --frozen | --relock", _choice("locked", "frozen", "relock"), "locked"),
    Setting("output", "--output", _path),
    Setting("layer_output", "--layer-output", _path),
    Setting("tree_dir", "--output-dir", _path),
    Setting("exclude_tests", "--exclude-tests", _switch, False),
    # One pattern list for your code and the dependencies (BuildOptions.excludes and .dep_excludes).
    Setting("excludes", "--exclude", _texts, ()),
    Setting("install.allow_sdist", "--allow-sdist", _switch, False),
    Setting("install.build_native", "--build-native", _switch, False),
    Setting("install.index_url", "--index-url", _text),
    Setting("install.extra_index_urls", "--extra-index-url", _texts, ()),
    Setting("install.indexes", "--index", _texts, ()),
    Setting("install.default_index", "--default-index", _text),
    Setting("install.find_links", "--find-links", _texts, ()),
    Setting("install.network_timeout", "--network-timeout", _seconds, DEFAULT_NETWORK_TIMEOUT,
            ("LAMBDAPACK_NETWORK_TIMEOUT", "UV_HTTP_TIMEOUT"), read_below=True),
    Setting("install.deadline", "--deadline", _seconds, DEFAULT_DEADLINE, ("LAMBDAPACK_DEADLINE",),
            read_below=True),
    Setting("attach_layers", "--with-layer", _paths, ()),
    Setting("compresslevel", "--compression-level", _level, 6),
    Setting("held_back", "--no-held-back", _switch, True),
    Setting("handler", "--handler", _text),
    Setting("use_cache", "--no-cache", _switch, True),
    Setting("cache_dir", "--cache-dir", _path, None, ("LAMBDAPACK_CACHE_DIR",)),
    Setting("remote_cache", "--remote-cache", _s3_url, None, ("LAMBDAPACK_REMOTE_CACHE",)),
    Setting("remote_cache_read_only", "--remote-cache-read-only", _yes_no, False,
            ("LAMBDAPACK_REMOTE_CACHE_READ_ONLY",)),
    Setting("refresh", "--refresh", _switch, False),
    Setting("smoke", "--smoke", _switch, False),
    Setting("slim", "--slim", _choice("none", "safe", "aggressive"), "safe"),
    Setting("keeps", "--keep", _texts, ()),
    Setting("exclude_runtime_provided", "--exclude-runtime-provided", _switch, False),
    Setting("compile", "--compile | --no-compile", _choice("auto", "on", "off"), "auto"),
    Setting("pyc_mode", "--pyc-mode", _choice("unchecked-hash", "checked-hash"), "unchecked-hash"),
    Setting("follow_external_links", "--follow-external-links", _switch, False),
    Setting("allow_secrets", "--allow-secret", _texts, ()),
    Setting("allow_blocked_runtime", "--allow-blocked-runtime", _switch, False),
    # `lambdapack deploy`'s (docs/deploy.md): where each artifact goes in AWS, not how it is built.
    Setting("function_name", "--function-name", _text),
    Setting("layer_name", "--layer-name", _text),
    Setting("layer_arns", "--layer-arn", _texts, ()),
    Setting("deploy_bucket", "--s3-bucket", _text, None, ("LAMBDAPACK_DEPLOY_BUCKET",)),
)
# Read by deploy alone: build_options leaves them out of BuildOptions.
DEPLOY_SETTINGS = frozenset({"function_name", "layer_name", "layer_arns", "deploy_bucket"})

# Not a build option: `cache prune` takes it as a flag; the build reads the variable itself.
CACHE_MAX_SIZE = Setting("cache_max_size", "--max-size", _size, DEFAULT_MAX_BYTES, ("LAMBDAPACK_CACHE_MAX_SIZE",),
                         read_below=True)
_BY_NAME = {s.name: s for s in (*SETTINGS, CACHE_MAX_SIZE)}


def setting_named(name: str) -> Setting:
    """The setting of that name (a KeyError is a typo in our code, never the user's)."""
    return _BY_NAME[name]


@dataclass(frozen=True)
class Layers:
    """What the settings are made of, by setting name. ``flags`` holds only the flags given."""

    flags: Mapping[str, object] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    file: Mapping[str, object] = field(default_factory=dict)
    function: Mapping[str, object] = field(default_factory=dict)


# One choice spelled three ways: the highest layer that names any of them decides all three, so a
# function's `lock` replaces the file's `requirements` (and --lock both) instead of conflicting.
DEPENDENCY_SOURCES = ("requirements", "pyproject", "lock")


def _dependency_source_layer(layers: Layers) -> Source | None:
    for source, given in ((Source.FLAG, layers.flags), (Source.FUNCTION, layers.function),
                          (Source.FILE, layers.file)):
        if any(name in given for name in DEPENDENCY_SOURCES):
            return source
    return None


def _env_var(setting: Setting, environ: Mapping[str, str]) -> str | None:
    return next((var for var in setting.env if environ.get(var)), None)


def source_of(setting: Setting, layers: Layers) -> Source:
    """Which layer decides the setting: flag > env > function section > file defaults > default."""
    if setting.name in DEPENDENCY_SOURCES:
        decides = _dependency_source_layer(layers)
        given = {Source.FLAG: layers.flags, Source.FUNCTION: layers.function, Source.FILE: layers.file}
        return decides if decides is not None and setting.name in given[decides] else Source.DEFAULT
    if setting.name in layers.flags:
        return Source.FLAG
    if _env_var(setting, layers.environ) is not None:
        return Source.ENV
    if setting.name in layers.function:
        return Source.FUNCTION
    if setting.name in layers.file:
        return Source.FILE
    return Source.DEFAULT


def value_of(setting: Setting, layers: Layers) -> Any:
    """The setting's typed value from the layer that decides it."""
    source = source_of(setting, layers)
    if source is Source.DEFAULT:
        return setting.default
    if source is Source.FLAG:
        raw, label = layers.flags[setting.name], setting.flag or setting.name
        hint = f"pass another {label}"
    elif source is Source.ENV:
        var = _env_var(setting, layers.environ)
        assert var is not None
        raw, label, hint = layers.environ[var], f"{var}={layers.environ[var]!r}", f"set {var} again, or unset it"
    else:
        section = layers.function if source is Source.FUNCTION else layers.file
        raw, label = section[setting.name], f"config {setting.name}={section[setting.name]!r}"
        hint = f"fix {setting.name} in the config file"
    try:
        return setting.parse(raw)
    except ValueError as e:
        raise UsageError(f"{label}: {e}", hint) from None


def _handed_down(setting: Setting, layers: Layers) -> Any:
    """The value to pass on; None where the layer below reads the environment and default itself."""
    if setting.read_below and source_of(setting, layers) not in (Source.FLAG, Source.FUNCTION, Source.FILE):
        return None
    return value_of(setting, layers)


# Settings that say one thing two ways: given on two levels, the higher one decides (a flag
# --default-index over a file's install.index_url); on one level, both is an error.
_ALTERNATIVES = (("extras", "all_extras"), ("install.index_url", "install.default_index"))


def _outranked(layers: Layers) -> set[str]:
    """The settings to leave at their default because an alternative is given on a higher level."""
    rank = list(Source)
    out: set[str] = set()
    for a, b in _ALTERNATIVES:
        sa, sb = source_of(_BY_NAME[a], layers), source_of(_BY_NAME[b], layers)
        if Source.DEFAULT not in (sa, sb) and sa is not sb:
            out.add(a if rank.index(sa) < rank.index(sb) else b)
    return out


def build_options(layers: Layers) -> BuildOptions:
    """Today's BuildOptions from the layers."""
    top: dict[str, Any] = {}
    install: dict[str, Any] = {}
    outranked = _outranked(layers)
    for setting in (s for s in SETTINGS if s.name not in DEPLOY_SETTINGS):
        value = setting.default if setting.name in outranked else _handed_down(setting, layers)
        group, _, name = setting.name.rpartition(".")
        (install if group == "install" else top)[name] = value
    for required in ("runtime", "arch"):
        if top[required] is None:
            raise UsageError(f"no {required} given",
                             f"pass --{required}, or set {required} in [tool.lambdapack] or lambdapack.toml")
    if top["all_extras"] and top["extras"]:
        raise UsageError("--all-extras and --extra both choose the extras",
                         "give one: --all-extras takes every extra the project defines")
    return BuildOptions(**top, dep_excludes=top["excludes"], install=InstallOptions(**install))


def cache_root(layers: Layers) -> Path:
    """The cache location: --cache-dir, else $LAMBDAPACK_CACHE_DIR, else the file, else the user cache dir."""
    root = value_of(_BY_NAME["cache_dir"], layers)
    return root if root is not None else default_cache_dir(layers.environ)


def cache_max_bytes(layers: Layers) -> int:
    """The cache's size cap for `cache prune`, with today's messages for a bad flag or variable."""
    source = source_of(CACHE_MAX_SIZE, layers)
    if source is Source.ENV:
        return max_bytes_from(layers.environ)  # its own message names the variable
    if source is Source.FLAG:
        raw = layers.flags[CACHE_MAX_SIZE.name]
        try:
            return parse_size(str(raw))
        except ValueError:
            raise UsageError(f"invalid size {raw!r}", "use a number of bytes or e.g. 500M, 2G") from None
    return int(value_of(CACHE_MAX_SIZE, layers))
