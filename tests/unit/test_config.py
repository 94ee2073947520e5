"""The config seam's precedence: flag > environment > config file > default (pure, no subprocess)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdapack.cache.total import DEFAULT_MAX_BYTES
from lambdapack.config.settings import (
    CACHE_MAX_SIZE,
    DEPLOY_SETTINGS,
    SETTINGS,
    Layers,
    Source,
    build_options,
    cache_max_bytes,
    cache_root,
    source_of,
    value_of,
)
from lambdapack.errors import UsageError
from lambdapack.pipeline.options import BuildOptions

TARGET = {"runtime": "python3.12", "arch": "x86_64"}
BY_NAME = {s.name: s for s in SETTINGS}


def test_defaults_are_todays_build_options() -> None:
    assert build_options(Layers(flags=TARGET)) == BuildOptions(runtime="python3.12", arch="x86_64")


def test_every_build_option_is_declared_once() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    # `today` is no user setting: the day the build runs, fixed only by tests.
    fields = set(BuildOptions.__dataclass_fields__) - {"install", "dep_excludes", "today"}
    install = {f"install.{n}" for n in BuildOptions.__dataclass_fields__["install"].default_factory().__dataclass_fields__}  # type: ignore[misc]
    assert set(names) - DEPLOY_SETTINGS == fields | install  # deploy's own are no build options


@pytest.mark.parametrize(
    ("flags", "environ", "file", "expected", "source"),
    [
        ({}, {}, {}, None, Source.DEFAULT),
        ({}, {}, {"cache_dir": "/file"}, Path("/file"), Source.FILE),
        ({}, {"LAMBDAPACK_CACHE_DIR": "/env"}, {"cache_dir": "/file"}, Path("/env"), Source.ENV),
        ({"cache_dir": Path("/flag")}, {"LAMBDAPACK_CACHE_DIR": "/env"}, {"cache_dir": "/file"}, Path("/flag"),
         Source.FLAG),
        ({}, {"LAMBDAPACK_CACHE_DIR": ""}, {}, None, Source.DEFAULT),  # empty is unset, as before
    ],
)
def test_precedence_flag_env_file_default(
    flags: dict[str, object], environ: dict[str, str], file: dict[str, object], expected: object, source: Source
) -> None:
    layers = Layers(flags=flags, environ=environ, file=file)
    setting = BY_NAME["cache_dir"]
    assert source_of(setting, layers) is source
    assert value_of(setting, layers) == expected
    assert build_options(Layers(flags={**TARGET, **flags}, environ=environ, file=file)).cache_dir == expected


def test_file_beats_default_and_flag_beats_file() -> None:
    file = {"slim": "aggressive", "compresslevel": 9, "excludes": ["*.md"], "install.allow_sdist": True}
    opts = build_options(Layers(flags=TARGET, file=file))
    assert (opts.slim, opts.compresslevel, opts.excludes, opts.dep_excludes) == ("aggressive", 9, ("*.md",), ("*.md",))
    assert opts.install.allow_sdist is True
    opts = build_options(Layers(flags={**TARGET, "slim": "none", "compresslevel": 1}, file=file))
    assert (opts.slim, opts.compresslevel) == ("none", 1)


def test_first_variable_set_wins() -> None:
    setting = BY_NAME["install.network_timeout"]
    layers = Layers(environ={"UV_HTTP_TIMEOUT": "7", "LAMBDAPACK_NETWORK_TIMEOUT": "3"})
    assert value_of(setting, layers) == 3.0
    assert value_of(setting, Layers(environ={"UV_HTTP_TIMEOUT": "7"})) == 7.0
    assert value_of(setting, Layers()) == 15.0


def test_variables_read_below_are_left_to_the_install_layer() -> None:
    # resolve_limits reads and checks these lazily, naming the variable: the seam passes None.
    environ = {"LAMBDAPACK_NETWORK_TIMEOUT": "not a number", "LAMBDAPACK_DEADLINE": "60"}
    opts = build_options(Layers(flags=TARGET, environ=environ, file={"install.deadline": 5}))
    assert (opts.install.network_timeout, opts.install.deadline) == (None, None)
    opts = build_options(Layers(flags=TARGET, file={"install.deadline": 5}))
    assert opts.install.deadline == 5.0  # the file, with no variable set
    opts = build_options(Layers(flags={**TARGET, "install.deadline": 30.0}, environ=environ))
    assert opts.install.deadline == 30.0


def test_cache_max_size() -> None:
    assert cache_max_bytes(Layers()) == DEFAULT_MAX_BYTES
    assert cache_max_bytes(Layers(file={CACHE_MAX_SIZE.name: "1K"})) == 1024
    assert cache_max_bytes(Layers(environ={"LAMBDAPACK_CACHE_MAX_SIZE": "2K"}, file={CACHE_MAX_SIZE.name: "1K"})) == 2048
    layers = Layers(flags={CACHE_MAX_SIZE.name: "3K"}, environ={"LAMBDAPACK_CACHE_MAX_SIZE": "2K"})
    assert cache_max_bytes(layers) == 3072
    with pytest.raises(UsageError, match="LAMBDAPACK_CACHE_MAX_SIZE='zz' is not a size"):
        cache_max_bytes(Layers(environ={"LAMBDAPACK_CACHE_MAX_SIZE": "zz"}))
    with pytest.raises(UsageError, match="invalid size 'zz'"):
        cache_max_bytes(Layers(flags={CACHE_MAX_SIZE.name: "zz"}))


def test_cache_root_falls_back_to_the_user_cache_dir() -> None:
    assert cache_root(Layers(environ={"LAMBDAPACK_CACHE_DIR": "/env"})) == Path("/env")
    assert cache_root(Layers(file={"cache_dir": "/file"})) == Path("/file")
    assert cache_root(Layers()).name == "lambdapack"


def test_a_bad_file_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="config slim"):
        build_options(Layers(flags=TARGET, file={"slim": "extreme"}))
    with pytest.raises(UsageError, match="config compresslevel"):
        build_options(Layers(flags=TARGET, file={"compresslevel": 12}))
    with pytest.raises(UsageError, match="no runtime"):
        build_options(Layers(flags={"arch": "x86_64"}))
