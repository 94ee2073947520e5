"""Verbosity, colour and `build`'s flags through the real command line: builds of code without
dependencies (uv installs nothing, no network), as `python -m lambdapack` subprocesses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_project_cli import project

from lambdapack.cli.style import color_on

TARGET = ("--runtime", "python3.12", "--arch", "x86_64")
QUIET_LINE = re.compile(r"^(\S+)  ([A-Za-z0-9+/]{43}=)  (\d+(\.\d)? (B|KiB|MiB))$")


def lambdapack(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDAPACK_", "NO_COLOR", "FORCE_COLOR"))}
    environ["LAMBDAPACK_CACHE_DIR"] = str(cwd / "cache")
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "lambdapack", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120, check=False)


def code(root: Path) -> Path:
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n", encoding="utf-8")
    return root


# --- -q, -qq, -v, --debug ----------------------------------------------------------------

def test_quiet_is_one_line_per_zip_and_qq_is_nothing(tmp_path: Path) -> None:
    root = code(tmp_path)
    r = lambdapack(root, "build", "src", *TARGET, "-q", "--handler", "app.handler")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    (line,) = r.stdout.splitlines()
    m = QUIET_LINE.match(line)
    assert m is not None, line
    assert Path(root, m.group(1)) == root / "dist" / "function-python3.12-x86_64.zip"
    assert m.group(3) == f"{(root / m.group(1)).stat().st_size} B"  # the zip's own size, in the one unit system
    full = lambdapack(root, "build", "src", *TARGET, "--format", "json")
    assert full.returncode == 0, full.stderr
    assert m.group(2) in full.stdout  # the CodeSha256 of the same zip
    qq = lambdapack(root, "build", "src", *TARGET, "-qq")
    assert (qq.returncode, qq.stdout, qq.stderr) == (0, "", "")


def test_quiet_still_says_the_error_and_only_the_error(tmp_path: Path) -> None:
    root = code(tmp_path)
    r = lambdapack(root, "build", "src", *TARGET, "-qq", "--handler", "app.missing")
    assert r.returncode == 1, r.stderr
    assert r.stdout == ""
    # The finding that failed it, then the error: what is wrong and what to do, nothing else.
    assert r.stderr.startswith("error LP") and "'missing' is not defined" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[-1].startswith("error: verification failed")
    assert len(r.stderr.splitlines()) <= 4, r.stderr


def test_a_project_build_is_quiet_too(tmp_path: Path) -> None:
    root = project(tmp_path)
    q = lambdapack(root, "build", "-q")
    assert q.returncode == 0, q.stderr
    lines = q.stdout.splitlines()
    assert len(lines) == 2 and all(QUIET_LINE.match(x) for x in lines), q.stdout
    assert {Path(x.split("  ")[0]).name for x in lines} == {"api.zip", "worker.zip"}
    assert q.stderr == ""
    qq = lambdapack(root, "build", "-qq")
    assert (qq.returncode, qq.stdout, qq.stderr) == (0, "", "")


def test_debug_and_verbose_are_accepted_after_the_command(tmp_path: Path) -> None:
    root = code(tmp_path)
    plain = lambdapack(root, "build", "src", *TARGET, "--no-cache")
    assert plain.returncode == 0, plain.stderr
    assert "running " not in plain.stderr
    v = lambdapack(root, "build", "src", *TARGET, "--no-cache", "-v")
    assert v.returncode == 0, v.stderr
    assert re.search(r"^DEBUG lambdapack\.host\.processes: running \S*uv", v.stderr, re.M), v.stderr
    assert "DEBUG lambdapack.cache" not in v.stderr  # -v is not --debug
    for argv in (("build", "src", *TARGET, "--no-cache", "--debug"), ("--debug", "build", "src", *TARGET, "--no-cache")):
        d = lambdapack(root, *argv)
        assert d.returncode == 0, d.stderr
        assert "DEBUG " in d.stderr, argv
    bad = lambdapack(root, "build", "src", "--runtime", "python3.8", "--arch", "x86_64", "--debug")
    assert bad.returncode == 2 and "python3.8 is not supported" in bad.stderr, bad.stderr
    assert "Traceback" in bad.stderr  # --debug after the command shows the traceback of an error, as before it


def test_verbose_works_after_a_nested_command(tmp_path: Path) -> None:
    r = lambdapack(tmp_path, "cache", "info", "-v", "--debug")
    assert r.returncode == 0, r.stderr


# --- colour ------------------------------------------------------------------------------

ESC = "\033["


def test_color_always_and_never_win_over_the_environment(tmp_path: Path) -> None:
    argv = ("build", "src", *TARGET)  # no src directory: an error, coloured or not
    on = lambdapack(tmp_path, "--color", "always", *argv, env={"NO_COLOR": "1"})
    assert on.returncode == 2 and f"{ESC}1;31merror:" in on.stderr
    after = lambdapack(tmp_path, *argv, "--color=always")
    assert after.returncode == 2 and ESC in after.stderr
    off = lambdapack(tmp_path, *argv, "--color", "never", env={"FORCE_COLOR": "1"})
    assert off.returncode == 2 and ESC not in off.stderr and off.stderr.startswith("error:")
    auto = lambdapack(tmp_path, *argv)  # a pipe is no terminal
    assert auto.returncode == 2 and ESC not in auto.stderr


def test_two_different_colors_are_a_usage_error(tmp_path: Path) -> None:
    r = lambdapack(tmp_path, "--color", "never", "tags", *TARGET, "--color", "always")
    assert r.returncode == 2
    assert "never and always" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(("environ", "tty", "on"), [
    ({}, True, True), ({}, False, False),
    ({"NO_COLOR": ""}, True, True),  # no-color.org: only a non-empty value disables
    ({"NO_COLOR": "1"}, True, False), ({"NO_COLOR": "0"}, True, False),
    ({"FORCE_COLOR": "1"}, False, True), ({"FORCE_COLOR": ""}, False, False),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
])
def test_color_auto_follows_no_color_org(environ: dict[str, str], tty: bool, on: bool) -> None:
    assert color_on("auto", environ, tty) is on
    assert color_on("never", environ, tty) is False and color_on("always", environ, tty) is True


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")
@pytest.mark.parametrize(("no_color", "coloured"), [("", True), ("1", False)])
def test_on_a_terminal_an_empty_no_color_keeps_colour(tmp_path: Path, no_color: str, coloured: bool) -> None:
    import pty

    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ["NO_COLOR"] = no_color
    primary, secondary = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "lambdapack", "build", "missing", *TARGET], cwd=tmp_path,
                           env=environ, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary,
                           timeout=60, check=False)
        os.close(secondary)
        secondary = -1
        err = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the child's side is closed
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    assert p.returncode == 2
    assert (ESC.encode() in err) is coloured, err


# --- build's flags -----------------------------------------------------------------------

@pytest.mark.parametrize("given", ["out/", "out" + os.sep, "existing"])
def test_output_naming_a_directory_gets_the_default_name(tmp_path: Path, given: str) -> None:
    root = code(tmp_path)
    (root / "existing").mkdir()
    r = lambdapack(root, "build", "src", *TARGET, "-o", given, "-q")
    assert r.returncode == 0, r.stderr
    written = root / given.rstrip("/" + os.sep) / "function-python3.12-x86_64.zip"
    assert written.is_file()
    assert r.stdout.split("  ")[0] == str(Path(given.rstrip("/" + os.sep)) / written.name)
    assert not (root / "dist").exists()


def test_a_split_build_puts_each_zip_into_its_directory(tmp_path: Path) -> None:
    root = code(tmp_path)
    (root / "src" / "requirements.txt").write_text("", encoding="utf-8")
    r = lambdapack(root, "build", "src", *TARGET, "--split", "-o", "fn/", "--layer-output", "lay/", "-q")
    assert r.returncode == 0, r.stderr
    assert (root / "fn" / "function-python3.12-x86_64.zip").is_file()
    assert (root / "lay" / "layer-python3.12-x86_64.zip").is_file()


def test_a_repeated_option_with_two_values_is_refused_naming_both(tmp_path: Path) -> None:
    root = code(tmp_path)
    for argv, both in (
        (("--runtime", "python3.12", "--runtime", "python3.13", "--arch", "x86_64"), "python3.12 and python3.13"),
        ((*TARGET, "--arch", "arm64"), "x86_64 and arm64"),
        ((*TARGET, "-o", "a.zip", "--output", "b.zip"), "a.zip and b.zip"),
        ((*TARGET, "--slim", "safe", "--slim", "none"), "safe and none"),
    ):
        r = lambdapack(root, "build", "src", *argv)
        assert r.returncode == 2, (argv, r.stderr)
        assert both in r.stderr and "given twice" in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not (root / "dist").exists() and not (root / "a.zip").exists()
    same = lambdapack(root, "build", "src", *TARGET, "--runtime", "python3.12", "-q")
    assert same.returncode == 0, same.stderr


def test_an_unsupported_runtime_says_so_before_any_did_you_mean(tmp_path: Path) -> None:
    root = code(tmp_path)
    r = lambdapack(root, "build", "src", "--runtime", "python3.8", "--arch", "x86_64")
    assert r.returncode == 2
    first = r.stderr.splitlines()[0]
    assert first.startswith("error: python3.8 is not supported (supported: python3.9, python3.10,"), first
    assert "python3.15)" in first
    if "id you mean" in first:
        assert first.index("not supported") < first.index("id you mean")
    assert not (root / "dist").exists()


def test_verbose_commands_never_show_an_index_password(tmp_path: Path) -> None:
    """-v logs uv's command line, --index-url included: its credentials are hidden (a refused local port:
    uv fails at once, offline)."""
    (tmp_path / "req.txt").write_text("six\n", encoding="utf-8")
    for flag in ("-v", "--debug"):
        r = lambdapack(tmp_path, "build", "--layer", "-r", "req.txt", *TARGET, "--no-cache", flag, "--network-timeout",
                       "2", "--index-url", "https://user:s3cret-token@127.0.0.1:9/simple")
        assert r.returncode != 0
        assert "user:****@127.0.0.1:9" in r.stderr, r.stderr
        assert "s3cret-token" not in r.stderr + r.stdout
