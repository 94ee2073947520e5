"""Per-line requirement options moved to the file-level lines uv's parser takes (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdapack.errors import InputError
from lambdapack.resolve.requirementsfile import (
    parse_requirements_text,
    split_line_options,
    uv_requirements_text,
)


def test_split_as_pip_does() -> None:
    assert split_line_options("six==1.17 --hash=sha256:aa --hash sha256:bb") == (
        "six==1.17", [("--hash", "sha256:aa"), ("--hash", "sha256:bb")])
    assert split_line_options("x; python_version < '3.12' --prefer-binary -Ca=b -C c=d") == (
        "x; python_version < '3.12'", [("--prefer-binary", ""), ("-C", "a=b"), ("-C", "c=d")])
    with pytest.raises(InputError, match="--frobnicate is not an option"):
        split_line_options("x --frobnicate")


def test_binary_options_become_file_level_lines_scoped_to_the_line() -> None:
    text = "numpy==2.0 --only-binary=:all:\nsix --hash=sha256:aa --prefer-binary\nalpha --no-binary alpha,beta\n"
    assert uv_requirements_text(text, "r.txt") == (
        "numpy==2.0\nsix --hash=sha256:aa\nalpha\n"
        "--only-binary numpy\n--prefer-binary\n--no-binary alpha\n--no-binary beta\n")
    assert uv_requirements_text("six --hash=sha256:aa\n-r other.txt\n", "r.txt") is None  # uv reads it as it is
    assert uv_requirements_text("six --no-binary=:none:\n", "r.txt") is None


def test_what_uv_cannot_honour_names_the_line() -> None:
    with pytest.raises(InputError, match=r"r.txt: 'x==1' sets --config-settings"):
        uv_requirements_text("x==1 --config-settings=a=b\n", "r.txt")
    with pytest.raises(InputError, match=r"'./pkg', whose project name is not known"):
        uv_requirements_text("./pkg --only-binary=:all:\n", "r.txt")


def test_names_are_still_checked_with_options_on_the_line(tmp_path: Path) -> None:
    reqs = parse_requirements_text("numpy==2.0 --only-binary=:all:\nsix --prefer-binary\n", tmp_path)
    assert [r.name for r in reqs] == ["numpy", "six"]
    assert str(reqs[0].specifier) == "==2.0"


def test_local_directories_and_their_wheels(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    shared = tmp_path / "shared"
    text = (f"./shared[x]\n-e ./shared\nfoo[y] @ {shared.as_uri()} ; python_version > '3'\n-r more.txt\n"
            "--index-url https://example.invalid/simple\nsix==1.17\n./missing\n")
    from lambdapack.resolve.localpaths import local_directories, with_built_wheels

    assert local_directories(text, tmp_path) == [shared]
    wheel = tmp_path / "w" / "shared-0.1-py3-none-any.whl"
    assert with_built_wheels(text, tmp_path, tmp_path, {shared: wheel}).splitlines() == [
        f"{wheel}[x]", str(wheel), f"foo[y] @ {wheel.as_uri()} ; python_version > '3'", f"-r {tmp_path / 'more.txt'}",
        "--index-url https://example.invalid/simple", "six==1.17", "./missing"]


def test_a_lock_exports_members_relative_to_its_project(tmp_path: Path) -> None:
    from lambdapack.resolve.localpaths import absolute_local_paths

    (tmp_path / "shared").mkdir()
    assert absolute_local_paths("./shared\nalpha==1.0\n./shared[x] ; python_version > '3'\n", tmp_path) == (
        f"{tmp_path / 'shared'}\nalpha==1.0\n{tmp_path / 'shared'}[x] ; python_version > '3'\n")
