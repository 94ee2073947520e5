"""The one JSON envelope (cli.jsonout): its fields, and how --format json is read from a command
line that argparse refused."""

from __future__ import annotations

import pytest

from lambdapack.cli.jsonout import error_of, failure, result, wants_json
from lambdapack.errors import InputError


@pytest.mark.parametrize(("argv", "expected"), [
    (["tags", "--format", "json"], True),
    (["tags", "--format=json"], True),
    (["tags", "--format", "json", "--format", "text"], False),  # argparse keeps the last
    (["tags", "--format"], False),
    (["tags"], False),
    (["explain", "--", "--format", "json"], False),  # after --: the text to explain
    (["check", "x.zip", "--format", "sarif"], False),
])
def test_wants_json(argv: list[str], expected: bool) -> None:
    assert wants_json(argv) is expected


def test_result_and_failure() -> None:
    ok = result({"version": 7, "ok": False, "tags": ["py3-none-any"]})  # the envelope's own keys win
    assert ok == {"version": 1, "ok": True, "tags": ["py3-none-any"]}
    err = error_of(InputError("no such file", "check the path"))
    assert err == {"message": "no such file", "hint": "check the path", "exit_code": 2}
    bad = result({"tags": []}, err)
    assert bad["ok"] is False and bad["error"] == err and list(bad)[-1] == "error"
    assert failure("interrupted", None, 130) == {"version": 1, "ok": False,
                                                 "error": {"message": "interrupted", "hint": None, "exit_code": 130}}
