"""`lambdapack why REQUIREMENT`, run for real: the project's files read from real PyPI (or a
local --find-links directory of real wheel files), each release's verdicts, the wheel that would
install and the newest release that fits; JSON validated against why.schema.json.

The assertions name old, pinned releases (numpy 2.0.2 and 2.1.x, pydantic-core 2.27.2, docopt
0.6.2): facts a new upload cannot change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lp_helpers import run_lp
from test_check_output import assert_valid, validator
from wheels import write_wheel

pytest.importorskip("jsonschema")
pytest.importorskip("referencing")


def why_json(*args: str, expect: int) -> dict[str, Any]:
    r = run_lp(["why", *args, "--format", "json"])
    assert r.returncode == expect, r.explain()
    assert "Traceback" not in r.stderr, r.explain()
    data = r.json
    assert_valid(validator("why.schema.json"), data)
    assert data["ok"] is (expect == 0), r.explain()
    return data


def _release(data: dict[str, Any], version: str) -> dict[str, Any]:
    return next(r for r in data["releases"] if r["version"] == version)


@pytest.mark.network
def test_pinned_numpy_on_arm64_names_the_aarch64_wheel() -> None:
    data = why_json("numpy==2.0.2", "--runtime", "python3.11", "--arch", "arm64", expect=0)
    assert data["kind"] == "requirement" and data["project"] == "numpy"
    assert [r["version"] for r in data["releases"]] == ["2.0.2"]
    wheel = "numpy-2.0.2-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    assert data["install"] == wheel and data["fits"] == "2.0.2"
    files = {f["filename"]: f for f in _release(data, "2.0.2")["files"]}
    assert files[wheel]["compatible"] and files[wheel]["tag"] == "cp311-cp311-manylinux_2_17_aarch64"
    assert [n for n, f in files.items() if f["compatible"]] == [wheel]
    assert files["numpy-2.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]["problems"] == [
        "built for x86_64, the target is aarch64"]
    text = run_lp(["why", "numpy==2.0.2", "--runtime", "python3.11", "--arch", "arm64"])
    assert text.returncode == 0 and f"numpy 2.0.2: installs {wheel}" in text.stdout, text.explain()


@pytest.mark.network
def test_numpy_for_python39_names_the_newest_that_fits() -> None:
    # numpy 2.1 dropped Python 3.9 (Requires-Python >=3.10, no cp39 wheels); 2.0.2 is its last.
    data = why_json("numpy>=2,<2.2", "--runtime", "python3.9", "--arch", "x86_64", expect=0)
    assert data["newest"] == "2.1.3" and data["fits"] == "2.0.2"
    assert [r["version"] for r in data["releases"]] == ["2.1.3", "2.1.2", "2.1.1", "2.1.0", "2.0.2"]
    assert _release(data, "2.1.3")["why_not"] == "numpy 2.1.3 has no wheel for cp39 (Python 3.9)"
    assert data["install"] == "numpy-2.0.2-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    r = run_lp(["why", "numpy>=2,<2.2", "--runtime", "python3.9", "--arch", "x86_64"])
    assert r.returncode == 0, r.explain()
    assert r.stdout.splitlines()[-1] == (
        "compatible: numpy 2.1.3 has no wheel for cp39 (Python 3.9); the newest that fits is numpy 2.0.2 "
        "(numpy-2.0.2-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl)")
    # the unbounded question, whatever numpy has released since: the newest has no cp39 wheel
    latest = why_json("numpy", "--runtime", "python3.9", "--arch", "x86_64", expect=0)
    assert latest["releases"][0]["install"] is None and latest["fits"] == "2.0.2"


@pytest.mark.network
def test_pydantic_core_pinned_for_python312_x86_64() -> None:
    data = why_json("pydantic-core==2.27.2", "--runtime", "python3.12", "--arch", "x86_64", expect=0)
    assert data["install"] == "pydantic_core-2.27.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    assert data["project"] == "pydantic-core"


@pytest.mark.network
def test_a_project_with_only_an_sdist_fits_nothing() -> None:
    data = why_json("docopt==0.6.2", "--runtime", "python3.12", "--arch", "x86_64", expect=1)
    (rel,) = data["releases"]
    assert rel["sdist_only"] and rel["install"] is None and data["fits"] is None
    assert rel["why_not"] == "docopt 0.6.2 has only a source distribution (no wheel)"
    assert data["error"]["exit_code"] == 1 and "source distribution" in data["error"]["message"]


@pytest.mark.network
def test_an_unknown_project_is_exit_2_in_one_line() -> None:
    r = run_lp(["why", "lambdapack-no-such-project-zz9", "--runtime", "python3.12", "--arch", "x86_64"])
    assert r.returncode == 2 and r.stdout == "", r.explain()
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "error: no project named lambdapack-no-such-project-zz9 on https://pypi.org/simple"
    assert len(lines) == 2 and lines[1].startswith("hint:"), r.explain()
    data = why_json("lambdapack-no-such-project-zz9", "--runtime", "python3.12", "--arch", "x86_64", expect=2)
    assert set(data) == {"version", "ok", "error"}


def test_find_links_directory_offline(tmp_path: Path) -> None:
    """No network: an empty local index and a --find-links directory of real wheel files."""
    links, index = tmp_path / "links", tmp_path / "index"
    links.mkdir()
    index.mkdir()
    write_wheel(links, "tinylib", "1.0", "py3-none-any")
    write_wheel(links, "tinylib", "2.0", "cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64")
    write_wheel(links, "otherlib", "9.0", "py3-none-any")
    loc = ("--index-url", index.as_uri(), "--find-links", str(links))
    data = why_json("tinylib", "--runtime", "python3.12", "--arch", "x86_64", *loc, expect=0)
    assert [r["version"] for r in data["releases"]] == ["2.0", "1.0"]
    assert data["fits"] == "1.0" and data["install"] == "tinylib-1.0-py3-none-any.whl"
    assert _release(data, "2.0")["why_not"] == "tinylib 2.0 has no wheel for cp312 (Python 3.12)"
    pinned = why_json("tinylib==2.0", "--runtime", "python3.13", "--arch", "x86_64", *loc, expect=0)
    assert pinned["install"] == "tinylib-2.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    none = why_json("tinylib==2.0", "--runtime", "python3.13", "--arch", "arm64", *loc, expect=1)
    assert none["fits"] is None and "aarch64" in none["reason"]
    missing = why_json("nosuchlib", "--runtime", "python3.12", "--arch", "x86_64", *loc, expect=2)
    assert "no project named nosuchlib" in missing["error"]["message"]
    # the wheel-file-name form is unchanged, and says its kind
    wheel = why_json("tinylib-1.0-py3-none-any.whl", "--runtime", "python3.12", "--arch", "x86_64", expect=0)
    assert "kind" not in wheel and wheel["compatible"] is True  # as before the requirement form


def test_bad_requirement_and_unreachable_index(tmp_path: Path) -> None:
    r = run_lp(["why", "numpy>", "--runtime", "python3.12", "--arch", "x86_64"])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 2, r.explain()
    assert "not a wheel file name or a requirement" in r.stderr
    # a closed local port: refused at once, the build's exit code for an unreachable index
    data = why_json("numpy", "--runtime", "python3.12", "--arch", "x86_64",
                    "--index-url", "http://127.0.0.1:9/simple", "--network-timeout", "5", expect=1)
    assert set(data) == {"version", "ok", "error"} and "could not read the index" in data["error"]["message"]
