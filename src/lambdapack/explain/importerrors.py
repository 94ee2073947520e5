"""Rules for import failures: missing modules, unloadable extensions, handler modules
that are not at the zip root, and import errors with another cause."""

from __future__ import annotations

import re

from lambdapack.explain.commands import build_command, check_command
from lambdapack.explain.hits import QUOTE, Advice, Hit, hit
from lambdapack.explain.modulenames import distribution, is_native_name, top_level
from lambdapack.explain.target import InferredTarget

__all__ = ["bare_import_error", "cannot_import_name", "generic_import_error", "no_module", "numpy_extensions"]

_UNABLE = re.compile(rf"Unable to import module {QUOTE}([\w./-]+){QUOTE}:\s*(.*)")
_NO_MODULE = re.compile(rf"No module named {QUOTE}?([\w.]+){QUOTE}?")
_NUMPY_C = re.compile(r"Importing the numpy C-extensions failed")
_CANNOT_IMPORT = re.compile(
    rf"cannot import name {QUOTE}(\w+){QUOTE} from (?:partially initialized module )?{QUOTE}([\w.]+){QUOTE}"
    r"(?:\s*\(([^)]*)\))?"
)


def no_module(line: str, t: InferredTarget) -> list[Hit]:
    """EX001-EX003: `No module named X`, read by what X is (the handler, an extension, a package)."""
    unable = _UNABLE.search(line)
    handler_module = unable.group(1) if unable else None
    hits: list[Hit] = []
    for m in _NO_MODULE.finditer(line):
        mod = m.group(1)
        if handler_module is not None and mod == handler_module:
            hits.append(hit((mod,), "EX003", line, _handler_not_at_root(mod, t)))
        elif is_native_name(mod):
            hits.append(hit((mod,), "EX001", line, _extension_unloadable(mod, t)))
        else:
            hits.append(hit((mod,), "EX002", line, _module_missing(mod, t)))
    return hits


def _handler_not_at_root(mod: str, t: InferredTarget) -> Advice:
    return Advice(
        title=f"handler module '{mod}' not found at the zip root",
        cause=f"Lambda looks for '{mod}.py' at the root of the function zip (/var/task) because the "
        f"handler setting starts with '{mod}.'. Either the file sits inside a folder in the zip "
        "(zipping the folder instead of its contents), or the handler setting names another file.",
        confirm=f"unzip -l function.zip | grep '{mod}.py'  (it must show '{mod}.py' with no folder), "
        f"then: {check_command(t)}",
        fix=f"{build_command(t)}  (run in the folder that contains {mod}.py; lambdapack puts SRC_DIR's "
        f"contents at the zip root), or set the handler to '<folder>.{mod}.<function>' / "
        f"'{mod}.<function>' to match the zip.",
    )


def _extension_unloadable(mod: str, t: InferredTarget) -> Advice:
    dist = distribution(mod)
    return Advice(
        title=f"compiled extension '{mod}' of {dist} cannot be loaded",
        cause=f"The {dist} package is in the zip, but its compiled extension '{mod}' is not one this "
        f"runtime can load: the wheel was built for another OS (macOS/Windows), another "
        f"architecture (x86_64 vs arm64) or another Python version, typically by running pip "
        f"on a laptop. Python then reports the .so as a missing module.",
        confirm=f"{check_command(t)}  (look for LP001 other OS, LP002 other architecture, LP005 other "
        f"Python/ABI on {top_level(mod)}/)",
        fix=f"{build_command(t)}  (installs the {dist} wheel for the function's runtime and "
        "architecture instead of the machine you build on).",
    )


def _module_missing(mod: str, t: InferredTarget) -> Advice:
    top = top_level(mod)
    dist = distribution(mod)
    if "." in mod:
        cause = (
            f"The package '{top}' is importable but its submodule '{mod}' is not: an installed "
            f"version of {dist} without that module (a version mismatch with the code that "
            f"imports it), or a file or folder named '{top}' in the zip shadowing the real package."
        )
    else:
        cause = (
            f"'{mod}' (PyPI: {dist}) is not in the deployment package or any attached layer, or "
            f"it is there but not on sys.path: in a function zip packages must be at the zip "
            f"root, next to the handler, not inside a subfolder such as package/ or venv/; in a "
            f"layer they must be under python/ or python/lib/pythonX.Y/site-packages/. If it "
            f"is in the zip, it may be a compiled module built for another platform."
        )
    return Advice(
        title=f"module '{mod}' not found",
        cause=cause,
        confirm=f"unzip -l function.zip | grep -i '{top}'  (for a layer: unzip -l layer.zip | grep "
        f"'python/'), then: {check_command(t)}",
        fix=f"add {dist} to requirements.txt (or pyproject.toml) and rebuild: "
        f"{build_command(t)}  (dependencies go to the zip root; with --layer under python/).",
    )


def numpy_extensions(line: str, t: InferredTarget) -> list[Hit]:
    """EX001: numpy's own banner for its unloadable C extensions."""
    if not _NUMPY_C.search(line):
        return []
    return [
        hit(
            ("numpy._core._multiarray_umath",),
            "EX001",
            line,
            Advice(
                title="numpy's compiled extensions cannot be loaded",
                cause="numpy is in the package but its C extensions (numpy._core._multiarray_umath) are for another "
                "OS, architecture or Python version, typically a wheel installed by pip on a laptop.",
                confirm=f"{check_command(t)}  (look for LP001, LP002 or LP005 on numpy/)",
                fix=f"{build_command(t)}  (installs the numpy wheel for the function's runtime and architecture).",
            ),
        )
    ]


def cannot_import_name(line: str, t: InferredTarget) -> list[Hit]:
    """EX004: `cannot import name` where the name is (or needs) compiled code."""
    hits: list[Hit] = []
    for m in _CANNOT_IMPORT.finditer(line):
        name, mod, location = m.group(1), m.group(2), m.group(3) or ""
        native = (
            name.startswith("_")
            or is_native_name(mod)
            or is_native_name(f"{mod}.{name}")
            or location == "unknown location"
        )
        if not native:
            continue
        dist = distribution(mod)
        hits.append(
            hit(
                (mod, name),
                "EX004",
                line,
                Advice(
                    title=f"cannot import '{name}' from {mod}: its native part is missing or unloadable",
                    cause=f"'{name}' in {mod} is (or depends on) a compiled extension of {dist}; it is missing or was "
                    f"built for another OS, architecture or Python version, so the import fails part-way. "
                    + (
                        "'(unknown location)' means Python found only a folder where the .so should be."
                        if location == "unknown location"
                        else ""
                    ),
                    confirm=f"{check_command(t)}  (look for LP001, LP002 or LP005 on {top_level(mod)}/)",
                    fix=f"{build_command(t)}  (installs {dist} as a wheel for the function's target, including "
                    "its compiled speedups).",
                ),
            )
        )
    return hits


def generic_import_error(line: str, t: InferredTarget) -> list[Hit]:
    """EX016: the handler module failed to import and no other rule said why."""
    m = _UNABLE.search(line)
    if m is None:
        return []
    mod, reason = m.group(1), m.group(2).strip()
    return [
        hit(
            ("unable", mod, reason),
            "EX016",
            line,
            Advice(
                title=f"handler module '{mod}' failed to import",
                cause=f"Importing {mod}.py raised an error at init time: {reason or 'see the traceback that follows'}. "
                "Typical causes are a dependency that raises on import (missing configuration, a native "
                "extension for another platform) or code that fails at module level.",
                confirm=f"{check_command(t)}; reproduce locally: python -c 'import {mod}'",
                fix=f"{build_command(t)}  (rules out platform problems), then fix the error named above.",
            ),
        )
    ]


def bare_import_error(line: str, t: InferredTarget) -> Hit:
    """EX016: only the error type is in the excerpt, not its message."""
    return hit(
        ("bare",),
        "EX016",
        line,
        Advice(
            title="Runtime.ImportModuleError without details",
            cause="The handler module failed to import at init; the log excerpt does not include the message "
            "saying why (it is on the [ERROR] line of the init phase).",
            confirm=f"{check_command(t)}; and look for the '[ERROR] Runtime.ImportModuleError: Unable to import module' "
            "line in the function's log group",
            fix=f"{build_command(t)}  (then paste the full [ERROR] line into lambdapack explain)",
        ),
    )
