"""Reading one table of a project config file: its keys checked, its settings typed, its paths resolved.

Pure: each function takes the parsed TOML and says where it came from (a :class:`Where`), so that
every error is one line naming the file and the key path, e.g.
``pyproject.toml: [tool.lambdapack.functions.api] unknown key 'handlr' (did you mean 'handler'?)``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdapack.config.settings import SETTINGS, Setting
from lambdapack.errors import UsageError
from lambdapack.facts.runtimes import get_arch, get_runtime

_BY_NAME = {s.name: s for s in SETTINGS}
# `install.x` settings are spelled as a sub-table in the file: `install.index_url = ...`.
_INSTALL = "install"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Where:
    """A table of a config file: the file as shown in errors, the key path, the directory paths are relative to."""

    shown: str
    keys: tuple[str, ...]  # ("tool", "lambdapack", "functions", "api"); () is the file's top level
    base: Path

    def child(self, key: str) -> Where:
        return Where(self.shown, (*self.keys, key), self.base)

    def table(self) -> str:
        if not self.keys:
            return "top level"
        return "[" + ".".join(k if _BARE_KEY.fullmatch(k) else f'"{k}"' for k in self.keys) + "]"

    def error(self, detail: str, hint: str | None = None) -> UsageError:
        return UsageError(f"{self.shown}: {self.table()} {detail}", hint)


def check_keys(table: Mapping[str, object], allowed: Collection[str], where: Where) -> None:
    """Every key of `table` is one of `allowed`; the first that is not is an error with a close match."""
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key.replace("-", "_"), sorted(allowed), n=1, cutoff=0.6)
            if close:
                raise where.error(f"unknown key {key!r} (did you mean {close[0]!r}?)")
            raise where.error(f"unknown key {key!r}", f"valid keys here: {', '.join(sorted(allowed))}")


def table_at(parent: Mapping[str, object], key: str, where: Where) -> Mapping[str, object]:
    """`parent[key]` as a table ({} when absent)."""
    value = parent.get(key, {})
    if not isinstance(value, Mapping):
        raise where.error(f"{key!r}: expected a table, got {_kind(value)}")
    return value


def texts_at(table: Mapping[str, object], key: str, where: Where) -> tuple[str, ...]:
    """`table[key]` as a list of strings (() when absent)."""
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(f"{key!r}: expected a list of strings, got {_kind(value)}")
    return tuple(value)


def path_at(table: Mapping[str, object], key: str, where: Where) -> Path | None:
    """`table[key]` as a path relative to the config file's directory (None when absent)."""
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, str) or not value:
        raise where.error(f"{key!r}: expected a path (a non-empty string), got {_kind(value)}")
    return resolve(Path(value), where.base)


def setting_names(exclude: Collection[str] = ()) -> frozenset[str]:
    """The file keys of the build settings (the `install.` ones count as the key `install`)."""
    return frozenset(s.name.partition(".")[0] if s.name.startswith(f"{_INSTALL}.") else s.name
                     for s in SETTINGS if s.name not in exclude)


def read_settings(table: Mapping[str, object], where: Where, allowed: Collection[str]) -> dict[str, Any]:
    """The build settings given in `table`, by setting name, typed, paths made absolute.

    Keys that are not settings are left to the caller (it checks them against its own schema).
    """
    found: dict[str, Any] = {}
    for key, raw in table.items():
        if key == _INSTALL and _INSTALL in allowed:
            found.update(_read_install(table_at(table, key, where), where.child(key)))
        elif key in allowed and key in _BY_NAME:
            found[key] = _typed(_BY_NAME[key], key, raw, where)
    return found


def _read_install(table: Mapping[str, object], where: Where) -> dict[str, Any]:
    names = {s.name.partition(".")[2]: s for s in SETTINGS if s.name.startswith(f"{_INSTALL}.")}
    check_keys(table, names, where)
    return {names[key].name: _typed(names[key], key, raw, where) for key, raw in table.items()}


def _typed(setting: Setting, key: str, raw: object, where: Where) -> Any:
    if setting.name == "runtime":
        return runtime_name(raw, key, where)  # "3.12" -> "python3.12", unknown names refused
    if setting.name == "arch":
        return arch_name(raw, key, where)  # "aarch64" -> "arm64"
    try:
        value = setting.parse(raw)
    except ValueError as e:
        raise where.error(f"{key!r}: {e}, got {_kind(raw)}") from None
    if key == "find_links":  # a local directory, relative to the file; URLs stay as they are
        return tuple(v if "://" in v else str(resolve(Path(v), where.base)) for v in value)
    if isinstance(value, Path):
        if key in ("output", "layer_output") and isinstance(raw, str):
            from lambdapack.pipeline.preflight import output_path

            return resolve(output_path(raw), where.base)  # "dist/": the default name inside it
        return resolve(value, where.base)
    if isinstance(value, tuple) and value and all(isinstance(v, Path) for v in value):
        return tuple(resolve(v, where.base) for v in value)
    return value


def resolve(path: Path, base: Path) -> Path:
    """A path from the file, relative to the file's directory (`~` is the home directory)."""
    return base / path.expanduser()


def runtime_name(raw: object, key: str, where: Where) -> str:
    if not isinstance(raw, str):
        raise where.error(f"{key!r}: expected a runtime name, got {_kind(raw)}")
    try:
        return get_runtime(raw).name
    except ValueError as e:
        raise where.error(f"{key!r}: {e}") from None


def arch_name(raw: object, key: str, where: Where) -> str:
    if not isinstance(raw, str):
        raise where.error(f"{key!r}: expected an architecture, got {_kind(raw)}")
    try:
        return get_arch(raw).value
    except ValueError as e:
        raise where.error(f"{key!r}: {e}") from None


def _kind(value: object) -> str:
    """How TOML would call the value, for "expected ..., got ..."."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__
