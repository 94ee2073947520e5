"""`--format json`: one JSON object on stdout from every command, on success and on failure.

The one envelope every command's object shares (src/lambdapack/schemas/*.schema.json):
``"version": 1``; ``"ok"``, true exactly when the exit code is 0; and when ``ok`` is false,
``"error": {"message", "hint", "exit_code"}`` saying why, whether the command produced its
result (a check that found errors, a wheel that does not fit) or could not (bad usage).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from lambdapack.errors import LambdapackError

__all__ = ["FORMAT_VERSION", "error_object", "error_of", "failure", "print_json", "result", "wants_json"]

FORMAT_VERSION = 1


def error_object(message: str, hint: str | None, exit_code: int) -> dict[str, object]:
    return {"message": message, "hint": hint, "exit_code": exit_code}


def error_of(e: LambdapackError) -> dict[str, object]:
    return error_object(e.message, e.hint, e.exit_code)


def result(data: Mapping[str, object], error: Mapping[str, object] | None = None) -> dict[str, object]:
    """A command's result in the envelope: ok unless `error` (an error_object) says why not."""
    out: dict[str, object] = {"version": FORMAT_VERSION, "ok": error is None}
    out.update((k, v) for k, v in data.items() if k not in ("version", "ok", "error"))
    if error is not None:
        out["error"] = dict(error)
    return out


def failure(message: str, hint: str | None, exit_code: int) -> dict[str, object]:
    """The whole object when the command could not produce its result."""
    return result({}, error_object(message, hint, exit_code))


def print_json(data: Mapping[str, object]) -> None:
    print(json.dumps(data, indent=2))


def wants_json(argv: Sequence[str]) -> bool:
    """Whether the command line asks for --format json, read without parsing it: a usage
    error stops argparse before it has set args.format. The last --format wins, as in argparse."""
    fmt = None
    for i, a in enumerate(argv):
        if a == "--":
            break
        if a.startswith("--format="):
            fmt = a.partition("=")[2]
        elif a == "--format" and i + 1 < len(argv):
            fmt = argv[i + 1]
    return fmt == "json"
