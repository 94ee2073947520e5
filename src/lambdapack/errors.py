"""Errors that reach the user: each says what is wrong, what to do, and its exit code.

Exit codes (documented in the README and `lambdapack --help`):
  0  success
  1  the build or the verification failed (no compatible wheel, a wrong binary,
     a limit exceeded, the registry unreachable, uv failed)
  2  bad usage or input (unknown runtime or architecture, unreadable or invalid
     requirements, a package that does not exist, conflicting pins)
"""

from __future__ import annotations

__all__ = ["BuildError", "InputError", "LambdapackError", "UsageError"]


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
