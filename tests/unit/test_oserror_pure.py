"""errors.from_os_error: every OSError becomes one error line naming the path and the
operation, one hint, and the documented exit code (2: a path the user gave cannot be
used; 1: the machine cannot do it now). The OSErrors here are real ones, raised by the
OS on real paths, where that is possible without a mount; the mounts are in
tests/integration/test_os_errors.py (hence *_pure: two modules of one name cannot both
be collected)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from lambdapack.errors import (
    CREATING_CACHE,
    READING_SOURCE,
    USING_CACHE,
    WRITING_OUTPUT,
    BuildError,
    InputError,
    from_os_error,
    show_path,
)


def _raised(fn: object) -> OSError:
    try:
        fn()  # type: ignore[operator]
    except OSError as e:
        return e
    raise AssertionError("no OSError")


def test_a_real_not_a_directory_is_input_and_names_the_path(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    e = _raised(lambda: (afile / "members").mkdir(parents=True))
    err = from_os_error(e, CREATING_CACHE, afile)
    assert isinstance(err, InputError)
    assert err.exit_code == 2
    assert err.message == f"not a directory while creating the cache: {afile}"
    assert err.hint == "fix the path, or pass another --cache-dir, or --no-cache"


def test_a_real_name_too_long_is_input_and_the_path_is_shortened(tmp_path: Path) -> None:
    long = tmp_path / ("a/" * 3000)
    e = _raised(long.stat)
    assert e.errno == errno.ENAMETOOLONG
    err = from_os_error(e, READING_SOURCE, long)
    assert err.exit_code == 2
    assert err.message.startswith("the path is too long for this system while reading the source tree: ")
    assert f"({len(str(long))} characters)" in err.message
    assert len(err.message) < 300
    assert err.hint == "shorten the path, or pass another SRC_DIR"


def test_a_real_is_a_directory(tmp_path: Path) -> None:
    e = _raised(lambda: open(tmp_path, "wb"))  # noqa: SIM115
    err = from_os_error(e, WRITING_OUTPUT)
    assert err.exit_code == 2
    assert err.message == f"it is a directory while writing the output: {tmp_path}"


def test_a_real_missing_file_without_an_operation(tmp_path: Path) -> None:
    e = _raised(lambda: (tmp_path / "nope").read_bytes())
    err = from_os_error(e)
    assert err.exit_code == 2
    assert err.message == f"no such file or directory: {tmp_path / 'nope'}"
    assert err.hint == "check the path, then run the command again"


# Errors of the machine, not of the input: exit 1. (No full or read-only disk without a
# mount; these are the OS's own errno values, as a write or rename would raise them.)
@pytest.mark.parametrize(
    ("code", "reason", "fix"),
    [
        (errno.ENOSPC, "no space left on the device", "free space on that disk"),
        (errno.EROFS, "read-only file system", "remount it read-write"),
        (errno.EIO, "I/O error", "check the disk (the kernel log names the device)"),
        *([(errno.EDQUOT, "disk quota exceeded", "free space within your quota")] if hasattr(errno, "EDQUOT") else []),
    ],
)
def test_environment_errors_exit_1(code: int, reason: str, fix: str) -> None:
    e = OSError(code, os.strerror(code), "/x/cache/tmp/abc")
    err = from_os_error(e, USING_CACHE)
    assert isinstance(err, BuildError)
    assert err.exit_code == 1
    assert err.message == f"{reason} while writing to the cache: /x/cache/tmp/abc"
    assert err.hint == f"{fix}, or pass another --cache-dir, or --no-cache"


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG,
                                  errno.EEXIST, errno.ELOOP, errno.ENOENT])
def test_unusable_paths_exit_2(code: int) -> None:
    err = from_os_error(OSError(code, os.strerror(code), "out.zip"), WRITING_OUTPUT)
    assert err.exit_code == 2
    assert err.message.endswith(" while writing the output: out.zip")
    assert err.hint is not None and err.hint.endswith("or pass another -o / --layer-output / --report")


def test_the_given_path_wins_over_the_temp_file_the_os_names() -> None:
    e = OSError(errno.ENOSPC, "No space left on device", "dist/.lambdapack-f.zip.abc.partial")
    assert from_os_error(e, WRITING_OUTPUT, Path("dist/f.zip")).message == (
        "no space left on the device while writing the output: dist/f.zip")


def test_an_error_without_a_file_name_or_a_known_errno() -> None:
    err = from_os_error(OSError(errno.EBUSY, "Device or resource busy"))
    assert err.exit_code == 1
    assert err.message == "Device or resource busy"
    assert err.hint == "run the command again with --debug for details"


def test_show_path_keeps_short_paths_and_both_ends_of_long_ones() -> None:
    assert show_path(Path("dist/f.zip")) == "dist/f.zip"
    long = "/start/" + "x" * 500 + "/end.zip"
    shown = show_path(long)
    assert shown.startswith("/start/") and "end.zip (515 characters)" in shown
