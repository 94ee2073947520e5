"""The packages a binary-only resolution failed on for want of a wheel (uvfailure.wheel_required),
which --build-native builds from their sdists: uv 0.13.9's real hint, copied and produced."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lambdapack.resolve.install import find_uv
from lambdapack.resolve.uvfailure import wheel_required

NO_BUILD = (
    "error: No solution found when resolving dependencies\n"
    "  cause: Because markupsafe==2.0.1 has no usable wheels and you require markupsafe==2.0.1, we can conclude "
    "that your requirements are unsatisfiable.\n\n"
    "hint: Wheels are required for `markupsafe` because building from source is disabled for all packages "
    "(i.e., with `--no-build`)\n"
)
# `--only-binary markupsafe`: the per-package wording of the same hint.
NO_BUILD_PACKAGE = (
    "hint: Wheels are required for `markupsafe` because building from source is disabled for `markupsafe` "
    "(i.e., with `--no-build-package markupsafe`)\n"
)


def test_the_hint_names_the_package() -> None:
    assert wheel_required(NO_BUILD) == ["markupsafe"]
    assert wheel_required(NO_BUILD_PACKAGE) == ["markupsafe"]


def test_several_hints_give_each_package_once_in_order() -> None:
    text = (NO_BUILD.replace("markupsafe", "pyyaml") + NO_BUILD + NO_BUILD_PACKAGE
            + NO_BUILD.replace("markupsafe", "psycopg2"))
    assert wheel_required(text) == ["pyyaml", "markupsafe", "psycopg2"]


def test_other_failures_name_nothing() -> None:
    assert wheel_required("") == []
    not_found = ("error: No solution found when resolving dependencies\n  cause: Because six was not found in the "
                 "package registry and you require six, we can conclude that your requirements are unsatisfiable.\n")
    assert wheel_required(not_found) == []
    # The --no-binary hint is the opposite case: a wheel exists but is refused.
    no_binary = ("hint: Pre-releases are available for `markupsafe` in the requested range, but using pre-built "
                 "wheels is disabled for `markupsafe`\n")
    assert wheel_required(no_binary) == []


@pytest.mark.network
def test_uvs_real_hint_for_an_sdist_only_release(tmp_path: Path) -> None:
    # markupsafe 2.0.1 has wheels up to CPython 3.9 only: for 3.11 there is its sdist alone.
    (tmp_path / "requirements.txt").write_text("markupsafe==2.0.1\n")
    argv = [find_uv(), "pip", "compile", "--no-config", "--only-binary", ":all:", "--python-platform",
            "x86_64-manylinux_2_17", "--python-version", "3.11", "--no-progress", "requirements.txt"]
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    res = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert res.returncode != 0, res.stdout
    assert wheel_required(res.stderr) == ["markupsafe"], res.stderr
    # Control: the release that has a cp311 wheel resolves, and names nothing.
    (tmp_path / "requirements.txt").write_text("markupsafe==2.1.5\n")
    ok = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert wheel_required(ok.stderr) == []
