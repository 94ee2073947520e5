"""The real `sam build` on examples/sam (Metadata: BuildMethod: makefile, no Docker).

SAM runs the example's Makefile, which runs `lambdapack build ... --output-dir $(ARTIFACTS_DIR)`.
What SAM would deploy, `.aws-sam/build/HelloFunction/`, must be exactly the members of the zip
that `lambdapack build` writes for the same project: same names, same bytes, nothing extra.

Tests never install software: `sam` comes from $LAMBDAPACK_TEST_SAM or PATH (`.ci/run` puts
the PyPI package `aws-sam-cli` in .ci-tools/sam), and the test skips with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lp_helpers import EM_AARCH64, clean_env, elf_header, run_lp
from test_output_dir import assert_tree_is_zip

pytestmark = pytest.mark.network

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sam"
TARGET = ["--runtime", "python3.12", "--arch", "arm64"]  # as in template.yaml and hello/Makefile


def _sam() -> str:
    sam = os.environ.get("LAMBDAPACK_TEST_SAM") or shutil.which("sam")
    if not sam:
        pytest.skip("no `sam` (aws-sam-cli): set LAMBDAPACK_TEST_SAM or put it on PATH (.ci/run installs it)")
    if shutil.which("make") is None:
        pytest.skip("no `make`: SAM's makefile build method runs it")
    return sam


def _lambdapack_bin() -> Path:
    """The directory whose `lambdapack` is this checkout's: SAM's make must run that one."""
    bin_dir = Path(sys.executable).parent
    if not any((bin_dir / name).exists() for name in ("lambdapack", "lambdapack.exe")):
        pytest.skip(f"no lambdapack script beside {sys.executable} for make to run")
    return bin_dir


def test_sam_build_is_lambdapack_build(tmp_path: Path) -> None:
    sam, bin_dir = _sam(), _lambdapack_bin()
    project = tmp_path / "sam"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".aws-sam"))
    env = clean_env({"PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)]),
                     "SAM_CLI_TELEMETRY": "0"})
    proc = subprocess.run([sam, "build"], cwd=project, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    built = project / ".aws-sam" / "build" / "HelloFunction"
    assert (built / "app.py").is_file(), proc.stdout[-2000:]
    assert "HelloFunction" in (project / ".aws-sam" / "build" / "template.yaml").read_text()

    ref = tmp_path / "ref.zip"
    r = run_lp(["build", str(project / "hello"), *TARGET, "-r", str(project / "hello" / "requirements.txt"),
                "-o", str(ref)], timeout=900)
    assert r.returncode == 0, r.explain()
    assert assert_tree_is_zip(built, ref) > 2
    # The zip the Makefile wrote beside the tree is that zip, byte for byte (reproducible builds).
    assert (built.parent / "HelloFunction.zip").read_bytes() == ref.read_bytes()
    # No packaging files shipped, and the compiled extension is the target's (aarch64).
    names = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    assert not names & {"Makefile", "requirements.txt"}
    so = [n for n in names if n.startswith("yaml/_yaml") and n.endswith(".so")]
    assert so, sorted(names)
    head = elf_header((built / so[0]).read_bytes()[:64])
    assert head is not None and head.machine == EM_AARCH64

    check = run_lp(["check", str(ref), *TARGET])
    assert check.returncode == 0, check.explain()
