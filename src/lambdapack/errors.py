"""Errors that reach the user: each says what is wrong, what to do, and its exit code.

Exit codes: :data:`EXIT_CODES` below is the one table of what each code means for each
command; `lambdapack --help` (and each command's --help) prints it, and the README's
"Exit codes" table quotes it (tests/unit/test_facts.py compares them).
"""

from __future__ import annotations

import errno
import os
import textwrap
from dataclasses import dataclass

__all__ = [
    "COMMAND_COLUMNS",
    "CREATING_CACHE",
    "EXIT_CODES",
    "READING_SOURCE",
    "USING_CACHE",
    "USING_TEMP",
    "WRITING_OUTPUT",
    "BuildError",
    "ExitCode",
    "InputError",
    "LambdapackError",
    "Operation",
    "UsageError",
    "exit_codes_help",
    "from_os_error",
    "show_path",
]


# The README's columns: which commands each meaning is for ("tags, cache": both).
COMMAND_COLUMNS: tuple[str, ...] = ("build", "check", "smoke", "why", "explain", "tags, cache",
                                     "deploy, publish-layer")


@dataclass(frozen=True)
class ExitCode:
    code: int
    meanings: dict[str, str]  # README column -> what the code means there; absent: never returned

    def meaning(self, command: str) -> str | None:
        return next((m for col, m in self.meanings.items() if command in col.split(", ")), None)


_MACHINE = "no space left, a read-only file system, an I/O error, a disk quota"
_INTERRUPTED = "interrupted (Ctrl-C, SIGTERM)"

EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(0, {"build": "success", "check": "no errors", "smoke": "passed", "why": "compatible",
                 "explain": "recognised", "tags, cache": "success",
                 "deploy, publish-layer": "deployed, or nothing to change (or the --dry-run plan printed)"}),
    ExitCode(1, {
        "build": "build or verification failed: no wheel for the target, a wrong binary, a Lambda limit "
                 f"exceeded, the index unreachable, a failed --smoke; or the machine failed it ({_MACHINE})",
        "check": "errors found",
        "smoke": "failed",
        "why": "not compatible (for a requirement: no release it allows fits), or the index unreachable",
        "explain": "not recognised",
        "tags, cache": f"the machine failed it ({_MACHINE})",
        "deploy, publish-layer": "the build failed, or AWS refused or failed the work: access denied, throttled "
                                 "past the retries, AWS unreachable, a function update that failed or did not "
                                 "finish within --wait-timeout",
    }),
    ExitCode(2, {
        "build": "bad usage or input: unknown runtime/arch, a runtime whose updates AWS blocks (without "
                 "--allow-blocked-runtime), unreadable requirements, a package that does not "
                 "exist, an index that refuses the credentials (401/403), conflicting pins, a config file that "
                 "cannot be read or names an unknown key, a path given that cannot be used (not a directory, "
                 "a directory, too long, permission denied)",
        "check": "could not check: bad usage or input (an unknown runtime/arch, a corrupt archive)",
        "smoke": "bad usage or input",
        "why": "bad usage or input: not a wheel file name or a requirement, a project the index does not have",
        "explain": "bad usage",
        "tags, cache": "bad usage",
        "deploy, publish-layer": "bad usage or input, checked before any change: no AWS credentials or region, a "
                                 "function that does not exist or whose runtime/architecture differ from the zip's, "
                                 "wrong architecture for a layer, a zip that is not the one the manifest lists, a "
                                 "zip over 50 MiB without --s3-bucket, boto3 not installed",
    }),
    ExitCode(3, {"smoke": "skipped: no interpreter of the target's Python version and architecture here (nor qemu and an aarch64 one to emulate it)"}),
    ExitCode(130, {"build": f"{_INTERRUPTED}: no output written",
                   **dict.fromkeys(COMMAND_COLUMNS[1:], _INTERRUPTED)}),
)


def exit_codes_help(command: str) -> str:
    """The "exit codes:" block of `command`'s --help, from :data:`EXIT_CODES`."""
    lines = ["exit codes:"]
    for ec in EXIT_CODES:
        meaning = ec.meaning(command)
        if meaning is not None:
            lines += textwrap.wrap(meaning, 78, initial_indent=f"  {ec.code:<3}  ", subsequent_indent=" " * 7)
    return "\n".join(lines)


class LambdapackError(Exception):
    """Root of every error lambdapack reports without a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(LambdapackError):
    exit_code = 2


class InputError(LambdapackError):
    exit_code = 2


class BuildError(LambdapackError):
    exit_code = 1


@dataclass(frozen=True)
class Operation:
    """What lambdapack was doing when the OS said no, and where else the user can do it."""

    doing: str  # "writing the output": the error line says "... while writing the output"
    elsewhere: str  # the hint's way around it: "pass another -o"


WRITING_OUTPUT = Operation("writing the output", "pass another -o / --layer-output / --report")
CREATING_CACHE = Operation("creating the cache", "pass another --cache-dir, or --no-cache")
USING_CACHE = Operation("writing to the cache", "pass another --cache-dir, or --no-cache")
READING_SOURCE = Operation("reading the source tree", "pass another SRC_DIR")
USING_TEMP = Operation("using the temporary directory", "point TMPDIR at a writable disk with space")

# errno -> (what it means, whose fault, what fixes it). "input": a path the user gave
# cannot be used (exit 2); "environment": the machine cannot do it right now (exit 1).
# One table: the README's exit-code section lists the same rows.
_ENVIRONMENT = "environment"
_INPUT = "input"
_CAUSES: dict[int, tuple[str, str, str]] = {
    errno.ENOSPC: ("no space left on the device", _ENVIRONMENT, "free space on that disk"),
    errno.EROFS: ("read-only file system", _ENVIRONMENT, "remount it read-write"),
    errno.EIO: ("I/O error", _ENVIRONMENT, "check the disk (the kernel log names the device)"),
    errno.EMFILE: ("too many open files", _ENVIRONMENT, "raise the open-file limit (ulimit -n)"),
    errno.ENFILE: ("too many open files on this system", _ENVIRONMENT, "close other programs' files"),
    errno.EACCES: ("permission denied", _INPUT, "fix the permissions of that path"),
    errno.EPERM: ("operation not permitted", _INPUT, "fix the permissions of that path"),
    errno.ENOTDIR: ("not a directory", _INPUT, "fix the path"),
    errno.EISDIR: ("it is a directory", _INPUT, "give a file path, not a directory"),
    errno.EEXIST: ("it exists and is not a directory", _INPUT, "remove it or give another path"),
    errno.ENOENT: ("no such file or directory", _INPUT, "check the path"),
    errno.ENAMETOOLONG: ("the path is too long for this system", _INPUT, "shorten the path"),
    errno.ELOOP: ("too many levels of symbolic links", _INPUT, "fix the symbolic link loop"),
}
# Not on every platform (Windows lacks EDQUOT).
if hasattr(errno, "EDQUOT"):
    _CAUSES[errno.EDQUOT] = ("disk quota exceeded", _ENVIRONMENT, "free space within your quota")

_SHOW_MAX = 160


def show_path(path: object) -> str:
    """A path for an error line: very long ones (a source path past PATH_MAX) are
    shortened in the middle, so the line stays readable and still says which path."""
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    if len(text) <= _SHOW_MAX:
        return text
    return f"{text[:80]}…{text[-60:]} ({len(text)} characters)"


def from_os_error(e: OSError, operation: Operation | None = None, path: object = None) -> LambdapackError:
    """The user-facing error for an OSError met while doing `operation` (None: unknown).

    `path` names what the user knows (the output they asked for) when the OS names a
    temporary file beside it; otherwise the OS's own file name is shown.
    """
    shown = path if path is not None else e.filename
    reason, fault, fix = _CAUSES.get(e.errno or 0, (e.strerror or str(e), _ENVIRONMENT, ""))
    where = f" {show_path(shown)}" if shown is not None else ""
    if operation is None:
        message = f"{reason}:{where}" if where else reason
        hint = f"{fix}, then run the command again" if fix else "run the command again with --debug for details"
    else:
        message = f"{reason} while {operation.doing}{':' if where else ''}{where}"
        hint = f"{fix}, or {operation.elsewhere}" if fix else operation.elsewhere
    cls = InputError if fault == _INPUT else BuildError
    return cls(message, hint)
