"""Errors that reach the user: each says what is wrong, what to do, and its exit code.

Exit codes (documented in the README and `lambdapack --help`):
  0  success
  1  the build or the verification failed (no compatible wheel, a wrong binary,
     a limit exceeded, the registry unreachable, uv failed), or the machine failed
     it (no space left, a read-only file system, an I/O error, a disk quota)
  2  bad usage or input (unknown runtime or architecture, unreadable or invalid
     requirements, a package that does not exist, conflicting pins, a path given
     that cannot be used: not a directory, a directory, too long, no permission)
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

__all__ = [
    "CREATING_CACHE",
    "READING_SOURCE",
    "USING_CACHE",
    "USING_TEMP",
    "WRITING_OUTPUT",
    "BuildError",
    "InputError",
    "LambdapackError",
    "Operation",
    "UsageError",
    "from_os_error",
    "show_path",
]


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
