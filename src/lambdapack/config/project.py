"""The project config as values: defaults, named functions and named layers (docs/config.md).

:func:`parse_project` is pure: it takes the parsed TOML of `[tool.lambdapack]` (or of a
`lambdapack.toml`'s top level) and the file's path, checks every key, types every value, resolves
paths against the file's directory and checks the cross-references (layers that exist and fit
each function's runtime and architecture, outputs that do not collide). Reading the file is
config.projectfile's job. Each function's runtime, architecture, handler and dependencies are
its own section's values over the file's defaults, through the one cascade in config.settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lambdapack.config.sections import (
    Where,
    arch_name,
    check_keys,
    path_at,
    read_settings,
    runtime_name,
    setting_names,
    table_at,
    texts_at,
)
from lambdapack.config.settings import DEPENDENCY_SOURCES, Layers, setting_named, value_of
from lambdapack.pipeline.preflight import is_into_directory

# A function's or layer's name is also its zip's file name: keep it to what Lambda allows in names.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
DEFAULT_OUTPUT_DIR = "dist"

# Which keys each table takes: the build settings under their own names (config.settings), and
# the project's own keys. A project's artifacts are named, so `kind`/`layer_output` stay top-level.
_PROJECT_KEYS = {"output_dir", "functions", "layers"}
_FUNCTION_KEYS = {"layers", "groups"}
_FUNCTION_SETTINGS = setting_names(exclude={"kind", "layer_output", "layer_name"})
_LAYER_KEYS = {"groups", "runtimes", "architectures"}
_LAYER_SETTINGS = setting_names(exclude={"kind", "layer_output", "src", "handler", "attach_layers", "runtime",
                                         "function_name", "layer_arns",
                                         "arch", "exclude_tests", "follow_external_links"})


@dataclass(frozen=True)
class Dependencies:
    """What to install: at most one source file, with the extras and dependency groups to take from it."""

    requirements: Path | None = None
    pyproject: Path | None = None
    lock: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # PEP 735 groups (of the pyproject or lock)

    @property
    def source(self) -> Path | None:
        return self.requirements or self.pyproject or self.lock


@dataclass(frozen=True)
class Function:
    """One function zip. `own` is its section's build settings (by setting name), for the cascade."""

    name: str
    src: Path
    output: Path
    runtime: str | None  # its own, else the file's default; None: neither names one (a flag must)
    arch: str | None
    handler: str | None
    dependencies: Dependencies
    layers: tuple[str, ...] = ()  # names of the project's layers, in the order given
    own: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layer:
    """One layer zip, shared by the functions that name it. `own`: its section's build settings."""

    name: str
    output: Path
    dependencies: Dependencies
    runtimes: tuple[str, ...]  # as given, else those of the functions that use it
    architectures: tuple[str, ...]
    own: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    """A config file's contents. `defaults` are the top-level build settings (by setting name)."""

    path: Path | None  # the config file; None: no file (every value is a built-in default)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    output_dir: Path = Path(DEFAULT_OUTPUT_DIR)
    functions: Mapping[str, Function] = field(default_factory=dict)
    layers: Mapping[str, Layer] = field(default_factory=dict)

    def layers_for(self, function: Function) -> Layers:
        """The file's part of `function`'s cascade (the caller adds the environment and flags)."""
        return Layers(file=self.defaults, function=function.own)


def parse_project(table: Mapping[str, object], path: Path, shown: str | None = None) -> Project:
    """The project from its config table; `path` is the file (paths are relative to its directory)."""
    where = Where(shown or str(path), ("tool", "lambdapack") if path.name == "pyproject.toml" else (), path.parent)
    # A function's or layer's AWS name is its own: never one for all of them.
    check_keys(table, setting_names(exclude={"function_name", "layer_name"}) | _PROJECT_KEYS, where)
    defaults = read_settings(table, where, setting_names())
    _dependencies(Layers(file=defaults), (), where)  # the defaults alone name at most one source
    output_dir = path_at(table, "output_dir", where) or path.parent / DEFAULT_OUTPUT_DIR
    functions_table = table_at(table, "functions", where)
    layers_table = table_at(table, "layers", where)
    functions = {name: _function(name, table_at(functions_table, name, where.child("functions")),
                                 where.child("functions").child(name), defaults, output_dir)
                 for name in functions_table}
    layers = {name: _layer(name, table_at(layers_table, name, where.child("layers")),
                           where.child("layers").child(name), defaults, functions, output_dir)
              for name in layers_table}
    _check_layers_fit(functions, layers, where)
    _check_outputs(functions, layers, where)
    return Project(path, MappingProxyType(defaults), output_dir, MappingProxyType(functions),
                   MappingProxyType(layers))


def _function(name: str, table: Mapping[str, object], where: Where, defaults: Mapping[str, Any],
              output_dir: Path) -> Function:
    _check_name(name, where)
    check_keys(table, _FUNCTION_SETTINGS | _FUNCTION_KEYS, where)
    own = read_settings(table, where, _FUNCTION_SETTINGS)
    if "src" not in own:
        raise where.error("has no 'src' (the directory of the function's code, relative to the file)")
    own.setdefault("output", output_dir / f"{name}.zip")
    if is_into_directory(own["output"]):  # output = "out/": the function's own name inside it
        own["output"] = own["output"].parent / f"{name}.zip"
    cascade = Layers(file=defaults, function=own)
    return Function(
        name=name, src=own["src"], output=own["output"],
        runtime=value_of(setting_named("runtime"), cascade), arch=value_of(setting_named("arch"), cascade),
        handler=value_of(setting_named("handler"), cascade),
        dependencies=_dependencies(cascade, texts_at(table, "groups", where), where),
        layers=_unique(texts_at(table, "layers", where), "layers", where), own=MappingProxyType(own),
    )


def _layer(name: str, table: Mapping[str, object], where: Where, defaults: Mapping[str, Any],
           functions: Mapping[str, Function], output_dir: Path) -> Layer:
    _check_name(name, where)
    check_keys(table, _LAYER_SETTINGS | _LAYER_KEYS, where)
    own = read_settings(table, where, _LAYER_SETTINGS)
    own.setdefault("output", output_dir / f"layer-{name}.zip")
    if is_into_directory(own["output"]):
        own["output"] = own["output"].parent / f"layer-{name}.zip"
    users = [f for f in functions.values() if name in f.layers]
    runtimes = tuple(runtime_name(r, "runtimes", where) for r in texts_at(table, "runtimes", where))
    arches = tuple(arch_name(a, "architectures", where) for a in texts_at(table, "architectures", where))
    dependencies = _dependencies(Layers(file=defaults, function=own), texts_at(table, "groups", where), where)
    if dependencies.source is None:
        raise where.error("names no dependencies (give one of 'requirements', 'pyproject', 'lock')")
    return Layer(
        name=name, output=own["output"], dependencies=dependencies,
        runtimes=runtimes or _used(f.runtime for f in users) or _used([defaults.get("runtime")]),
        architectures=arches or _used(f.arch for f in users) or _used([defaults.get("arch")]),
        own=MappingProxyType(own),
    )


def _dependencies(cascade: Layers, groups: tuple[str, ...], where: Where) -> Dependencies:
    """The dependencies the cascade gives; one table naming two source files is an error."""
    found = {name: value_of(setting_named(name), cascade) for name in DEPENDENCY_SOURCES}
    given = [name for name, value in found.items() if value is not None]
    if len(given) > 1:
        raise where.error(f"names {' and '.join(repr(n) for n in given)}: give only one of "
                          f"{', '.join(repr(n) for n in DEPENDENCY_SOURCES)}")
    return Dependencies(**found, extras=value_of(setting_named("extras"), cascade), groups=groups)


def _check_layers_fit(functions: Mapping[str, Function], layers: Mapping[str, Layer], where: Where) -> None:
    """Each layer a function names exists and is built for the function's runtime and architecture."""
    for f in functions.values():
        at = where.child("functions").child(f.name)
        for name in f.layers:
            layer = layers.get(name)
            if layer is None:
                defined = ", ".join(sorted(layers)) or "none"
                raise at.error(f"'layers': no layer {name!r} is defined (defined: {defined})",
                               f"add [{'.'.join((*where.keys, 'layers', name))}] or remove it from 'layers'")
            for kind, have, allowed, key in (("runtime", f.runtime, layer.runtimes, "runtimes"),
                                             ("architecture", f.arch, layer.architectures, "architectures")):
                if have is not None and have not in allowed:
                    raise at.error(f"'layers': layer {name!r} is for {', '.join(allowed)}, not this function's "
                                   f"{kind} {have}", f"add {have} to the layer's '{key}', or use another layer")


def _check_outputs(functions: Mapping[str, Function], layers: Mapping[str, Layer], where: Where) -> None:
    """No two artifacts are written to the same path (the second would replace the first)."""
    seen: dict[str, str] = {}
    for table, artifacts in (("functions", functions.values()), ("layers", layers.values())):
        for artifact in artifacts:
            key = os.path.normcase(os.path.normpath(artifact.output))
            label = f"{'function' if table == 'functions' else 'layer'} {artifact.name!r}"
            if key in seen:
                raise where.child(table).child(artifact.name).error(
                    f"'output' {artifact.output} is also the output of {seen[key]}", "give each its own 'output'")
            seen[key] = label


def _check_name(name: str, where: Where) -> None:
    if not _NAME.fullmatch(name):
        raise where.error("is not a usable name: use letters, digits, '-', '_' and '.' (it names the zip)")


def _unique(names: tuple[str, ...], key: str, where: Where) -> tuple[str, ...]:
    for i, name in enumerate(names):
        if name in names[:i]:
            raise where.error(f"{key!r}: {name!r} is named twice")
    return names


def _used(values: Any) -> tuple[str, ...]:
    """The distinct known values, sorted (for a layer's runtimes from its functions')."""
    return tuple(sorted({v for v in values if v is not None}))
