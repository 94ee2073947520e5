"""Finding and reading the project config file: the I/O edge of config.project.

The file is `[tool.lambdapack]` in a `pyproject.toml` or the top level of a `lambdapack.toml`,
given with `--config FILE` or found from the current directory upwards: the first directory with
either wins (like uv and ruff); a `pyproject.toml` without `[tool.lambdapack]` does not count, so a
function's own pyproject.toml below the project's root does not hide the root's config.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from lambdapack.config.project import Project, parse_project
from lambdapack.errors import Operation, UsageError, from_os_error, show_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
STANDALONE = "lambdapack.toml"
_READING = Operation("reading the config file", "pass another --config")


def load_project(config: Path | None, cwd: Path) -> Project:
    """The project of `--config FILE`, else of the file found from `cwd` upwards, else an empty one."""
    if config is not None:
        path = cwd / config
        shown = _shown(path, cwd)
        table = lambdapack_table(read_toml(path, shown), path, shown)
        if table is None:
            raise UsageError(f"{shown}: has no [tool.lambdapack] table (given with --config)",
                             "add one, or pass the lambdapack.toml or pyproject.toml that has it")
        return parse_project(table, path, shown)
    for directory in (cwd, *cwd.parents):
        found = _config_in(directory, cwd)
        if found is not None:
            path, table = found
            return parse_project(table, path, _shown(path, cwd))
    return Project(path=None)


def _config_in(directory: Path, cwd: Path) -> tuple[Path, Mapping[str, object]] | None:
    """The config of `directory`, if it has one; both kinds at once is an error."""
    standalone, pyproject = directory / STANDALONE, directory / PYPROJECT
    tool = _pyproject_table(pyproject, cwd) if pyproject.is_file() else None
    if standalone.is_file():
        if tool is not None:
            raise UsageError(
                f"{_shown(pyproject, cwd)} [tool.lambdapack] and {_shown(standalone, cwd)} both configure "
                "lambdapack: keep one", f"move the settings into {STANDALONE} and remove [tool.lambdapack] from "
                f"{PYPROJECT}, or the other way round"
            )
        table = lambdapack_table(read_toml(standalone, _shown(standalone, cwd)), standalone)
        assert table is not None  # a lambdapack.toml is the table
        return standalone, table
    return (pyproject, tool) if tool is not None else None


def _pyproject_table(pyproject: Path, cwd: Path) -> Mapping[str, object] | None:
    # Skip the parse of pyproject.toml files that cannot mention us: an unrelated, broken one in a
    # parent directory must not fail every build below it.
    try:
        data = pyproject.read_bytes()
    except OSError:
        return None  # unreadable and not ours to judge: the search goes on
    if b"lambdapack" not in data:
        return None
    shown = _shown(pyproject, cwd)
    return lambdapack_table(parse_toml(data, shown), pyproject, shown)


def lambdapack_table(data: Mapping[str, object], path: Path, shown: str | None = None) -> Mapping[str, object] | None:
    """The config table of a parsed file: `[tool.lambdapack]` of a pyproject.toml (None if it has
    none), the whole of any other file."""
    if path.name != PYPROJECT:
        return data
    tool = data.get("tool", {})
    table = tool.get("lambdapack") if isinstance(tool, Mapping) else None
    if table is not None and not isinstance(table, Mapping):
        raise UsageError(f"{shown or path}: tool.lambdapack must be a table ([tool.lambdapack]), not a value")
    return table


def read_toml(path: Path, shown: str) -> dict[str, object]:
    """The read of a config file that must be one (given, or a lambdapack.toml found)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such config file", "pass an existing file to --config") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a directory, not a config file",
                         f"pass {show_path(path / STANDALONE)} or {show_path(path / PYPROJECT)}") from None
    except OSError as e:
        raise from_os_error(e, _READING, path) from e
    return parse_toml(data, shown)


def parse_toml(data: bytes, shown: str) -> dict[str, object]:
    """The file's TOML; a file that is not is a one-line error."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise UsageError(f"{shown}: not UTF-8 text (byte {e.start})", "TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{shown}: not valid TOML: {e}") from None


def _shown(path: Path, cwd: Path) -> str:
    """The path for an error line: relative to the current directory when it is below it."""
    try:
        return show_path(path.relative_to(cwd)) if path != cwd else "."
    except ValueError:
        return show_path(os.path.normpath(path))
