"""`lambdapack tags` and `lambdapack why`, through the real CLI entry point (in-process)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lp_helpers import run_lp

from lambdapack.cli.main import main


def _cli_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, Any]:
    rc = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return rc, json.loads(captured.out) if captured.out.strip() else None


def _tags(capsys: pytest.CaptureFixture[str], runtime: str, arch: str) -> list[str]:
    rc, data = _cli_json(capsys, ["tags", "--runtime", runtime, "--arch", arch, "--format", "json"])
    assert rc == 0
    assert data["runtime"] == runtime and data["arch"] == arch
    tags: list[str] = data["tags"]
    assert len(tags) == len(set(tags))
    return tags


def test_tags_python312_arm64(capsys: pytest.CaptureFixture[str]) -> None:
    tags = _tags(capsys, "python3.12", "arm64")
    assert tags[0] == "cp312-cp312-manylinux_2_34_aarch64"
    for must in ("cp312-cp312-manylinux2014_aarch64", "cp312-cp312-manylinux_2_17_aarch64",
                 "cp312-abi3-manylinux_2_34_aarch64", "cp32-abi3-manylinux2014_aarch64",
                 "py3-none-manylinux_2_34_aarch64", "py312-none-any", "py3-none-any"):
        assert must in tags, must
    assert tags.index("cp312-cp312-manylinux2014_aarch64") < tags.index("cp312-abi3-manylinux_2_34_aarch64")
    assert tags.index("cp312-abi3-manylinux_2_34_aarch64") < tags.index("py3-none-any")
    for t in tags:
        interp, abi, plat = t.split("-")
        assert "musllinux" not in plat and not plat.startswith(("macosx", "win")), t
        assert plat in ("any",) or plat.startswith("manylinux"), t
        assert plat != "linux_aarch64", t
        assert plat.endswith("_aarch64") or plat == "any", t
        assert not abi.endswith("t") and "cp313" not in t, t
        assert "manylinux_2_35" not in plat and "manylinux1" not in plat and "manylinux2010" not in plat, t
        assert interp.startswith(("cp3", "py3")), t
        if interp.startswith("cp3") and abi not in ("abi3", "none"):
            assert interp == "cp312" and abi == "cp312", t


def test_tags_python311_x86_64(capsys: pytest.CaptureFixture[str]) -> None:
    tags = _tags(capsys, "python3.11", "x86_64")
    assert tags[0] == "cp311-cp311-manylinux_2_26_x86_64"
    assert "cp311-cp311-manylinux1_x86_64" in tags
    assert "cp311-cp311-manylinux2010_x86_64" in tags
    assert "cp311-cp311-manylinux2014_x86_64" in tags
    assert "py3-none-any" in tags
    glibcs = set()
    for t in tags:
        plat = t.split("-")[2]
        if plat.startswith("manylinux_"):
            glibcs.add(tuple(int(x) for x in plat.split("_")[1:3]))
        assert "aarch64" not in plat and plat != "linux_x86_64", t
    assert max(glibcs) == (2, 26)


def test_tags_text_matches_json(capsys: pytest.CaptureFixture[str]) -> None:
    json_tags = _tags(capsys, "python3.13", "x86_64")
    assert main(["tags", "--runtime", "python3.13", "--arch", "x86_64"]) == 0
    assert capsys.readouterr().out.split() == json_tags


WHY = [
    # (wheel file name as on PyPI, runtime, arch, compatible, words expected in the reason)
    ("numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "python3.11", "x86_64", True,
     ("manylinux_2_17_x86_64",)),
    ("numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "python3.11", "x86_64", False,
     ("glibc 2.27", "2.26")),
    ("cryptography-50.0.2-cp311-abi3-manylinux_2_28_x86_64.whl", "python3.12", "x86_64", True, ("abi3",)),
    ("cryptography-50.0.2-cp311-abi3-manylinux_2_28_x86_64.whl", "python3.11", "x86_64", False, ("glibc",)),
    ("pydantic_core-2.50.4-cp312-cp312-macosx_11_0_arm64.whl", "python3.12", "arm64", False, ("macOS",)),
    ("orjson-3.13.0-cp312-cp312-musllinux_1_2_aarch64.whl", "python3.12", "arm64", False, ("musl",)),
    ("orjson-3.13.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "python3.12", "x86_64", False,
     ("aarch64",)),
    ("six-1.17.0-py2.py3-none-any.whl", "python3.9", "arm64", True, ("py3-none-any",)),
    ("numpy-2.5.5-cp313-cp313t-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "python3.13", "x86_64", False,
     ("free-threaded",)),
]


@pytest.mark.parametrize(("wheel", "runtime", "arch", "ok", "words"), WHY, ids=[w[0][:40] for w in WHY])
def test_why(capsys: pytest.CaptureFixture[str], wheel: str, runtime: str, arch: str, ok: bool,
             words: tuple[str, ...]) -> None:
    rc, data = _cli_json(capsys, ["why", wheel, "--runtime", runtime, "--arch", arch, "--format", "json"])
    assert rc == (0 if ok else 1)
    assert data["compatible"] is ok
    for w in words:
        assert w in data["reason"], data
    assert data["tag"]


def test_why_not_a_wheel_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["why", "requirements.txt", "--runtime", "python3.12", "--arch", "arm64", "--format", "json"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "error:" in err and "Traceback" not in err


def test_why_exit_codes_in_clean_process() -> None:
    ok = run_lp(["why", "six-1.17.0-py2.py3-none-any.whl", "--runtime", "python3.12", "--arch", "arm64"])
    assert ok.returncode == 0 and ok.stdout.startswith("compatible"), ok.explain()
    bad = run_lp(["why", "pydantic_core-2.50.4-cp312-cp312-win_amd64.whl", "--runtime", "python3.12",
                  "--arch", "x86_64"])
    assert bad.returncode == 1 and bad.stdout.startswith("not compatible"), bad.explain()
    assert "Windows" in bad.stdout
