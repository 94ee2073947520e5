"""The --help of the commands: every option says what it does, every command what it is for and
how it is used (an example), and the usage line says what is accepted.

`build` is walked by its own helper's tests (its dependency options are edited there)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from lambdapack.cli.parser import COMMANDS, build_parser

WALKED = [c for c in COMMANDS if c != "build"]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_the_walk_sees_every_command() -> None:
    assert set(_subparsers()) == set(COMMANDS) and "cache" in WALKED


@pytest.mark.parametrize("command", WALKED)
def test_every_option_has_help(command: str) -> None:
    p = _subparsers()[command]
    missing = [a.dest for a in p._actions if not a.help or a.help == argparse.SUPPRESS]
    assert missing == [], f"{command}: no help text for {missing}"


@pytest.mark.parametrize("command", WALKED)
def test_every_command_has_a_description_an_example_and_its_exit_codes(command: str) -> None:
    p = _subparsers()[command]
    assert p.description and len(p.description) > 40, command
    text = p.format_help()
    assert "\nexamples:\n  lambdapack " + command in text, text
    assert "\nexit codes:\n  0  " in text, text


def test_check_usage_says_one_path() -> None:
    usage = _subparsers()["check"].format_usage()
    assert "[PATH]" in usage and "..." not in usage, usage


def test_help_runs_in_a_real_process() -> None:
    """The laid-out epilog survives argparse's formatter (examples are not rewrapped)."""
    r = subprocess.run([sys.executable, "-m", "lambdapack", "cache", "--help"], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert "\n  lambdapack cache prune --max-size 2G\n" in r.stdout
    assert "--cache-dir DIR" in r.stdout and "the cache to act on" in r.stdout
