"""What real projects do to a build: outputs and temp dirs inside the source tree,
symlinked code, SIGTERM, machines reading --format json on failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lp_helpers import (
    HANG,
    assert_no_outputs,
    children_mentioning,
    clean_env,
    cmdline,
    lp_build_json,
    needs_proc,
    processes_mentioning,
    run_lp,
    silent_index,
    still_there,
    wait_for,
    write_handler,
    zip_names,
)


def test_output_inside_source_not_shipped_on_rebuild(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    out = src / "function.zip"
    args = ["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out), "--no-compile"]
    _r, first = lp_build_json(args, cwd=tmp_path)
    data1 = out.read_bytes()
    _r, second = lp_build_json(args, cwd=tmp_path)
    assert zip_names(out) == ["lambda_function.py"]
    assert out.read_bytes() == data1
    assert first["outputs"][0]["sha256"] == second["outputs"][0]["sha256"]



def test_stale_partial_of_killed_build_not_shipped(tmp_path: Path) -> None:
    """A build killed with SIGKILL leaves `.<zip name>.<random>.partial` beside the output;
    when the output is inside SRC the next build must not put it into the zip."""
    src = write_handler(tmp_path / "src")
    out = src / "function.zip"
    (src / ".function.zip.k3j2x9.partial").write_bytes(b"PK\x03\x04 half a zip")
    _r, _data = lp_build_json(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out),
                               "--no-compile"], cwd=tmp_path)
    assert zip_names(out) == ["lambda_function.py"]


@pytest.mark.network

def test_tmpdir_inside_source_not_shipped_and_cleaned(tmp_path: Path) -> None:
    """TMPDIR inside the project (CI setups do this): lambdapack's own work dir must not
    end up in the zip, and nothing is left in TMPDIR afterwards."""
    src = write_handler(tmp_path / "src")
    tmpdir = src / ".tmp"
    tmpdir.mkdir()
    req = tmp_path / "requirements.txt"
    req.write_text("six\n", encoding="utf-8")
    out = tmp_path / "fn.zip"
    _r, _data = lp_build_json(
        ["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-r", str(req), "-o", str(out)],
        cwd=tmp_path, env=clean_env({"TMPDIR": str(tmpdir)}),
    )
    names = zip_names(out)
    assert "six.py" in names
    assert not [n for n in names if n.startswith(".tmp/")], names
    assert list(tmpdir.iterdir()) == []


@pytest.mark.network
def test_tmpdir_cleaned_after_failure(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    req = tmp_path / "r.txt"
    req.write_text("numpy==2.5.5\n", encoding="utf-8")
    r = run_lp(["build", str(write_handler(tmp_path / "src")), "--runtime", "python3.11", "--arch", "x86_64",
                "-r", str(req), "-o", str(tmp_path / "fn.zip")], cwd=tmp_path, env=clean_env({"TMPDIR": str(tmpdir)}))
    assert r.returncode == 1, r.explain()
    assert list(tmpdir.iterdir()) == []



def test_symlinked_code_directory_is_not_silently_dropped(tmp_path: Path) -> None:
    """`src/shared -> ../shared` (common in monorepos) leaves SRC_DIR: an error naming the
    link and the flag, never silence; with --follow-external-links the code ships, each
    file with a warning. Silently dropping it would fail only on Lambda, at import time."""
    src = write_handler(tmp_path / "src", "import shared.util")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "__init__.py").write_text("", encoding="utf-8")
    (shared / "util.py").write_text("X = 1\n", encoding="utf-8")
    (src / "shared").symlink_to(Path("..") / "shared", target_is_directory=True)
    out = tmp_path / "fn.zip"
    args = ["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out)]
    r = run_lp(args, cwd=tmp_path)
    assert r.returncode == 2, r.explain()
    assert f"error: shared in {src} is a symlink to {shared}, outside the source directory" in r.stderr
    assert "--follow-external-links" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
    _r, data = lp_build_json([*args, "--follow-external-links"], cwd=tmp_path)
    names = zip_names(out)
    assert "shared/util.py" in names and "shared/__init__.py" in names
    assert sorted(w.split(":")[0] for w in data["warnings"] if "outside the source directory" in w) == [
        "shared/__init__.py", "shared/util.py"]


@needs_proc
def test_sigterm_during_install_cleans_up(tmp_path: Path) -> None:
    """SIGTERM while uv runs: exit 130, no zip, no temp files, no uv left running.
    (An index that never answers keeps uv waiting for seconds: a deterministic window.)"""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    req = tmp_path / "sigterm-requirements.txt"
    req.write_text("six\n", encoding="utf-8")
    out = tmp_path / "out" / "fn.zip"
    env = clean_env({"TMPDIR": str(tmpdir)})
    with silent_index() as (index, asked):
        proc = subprocess.Popen(
            [sys.executable, "-m", "lambdapack", "build", str(write_handler(tmp_path / "src")), "--runtime",
             "python3.12", "--arch", "x86_64", "-r", str(req), "-o", str(out), "--index-url", index,
             "--cache-dir", str(tmp_path / "cache")],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            # The state: the installing uv (a child of the build: the build's own argv names the
            # requirements too) exists, and both uv processes (it and the held-back resolution)
            # have asked the index, so the build is waiting for uv, not between starting it and
            # guarding it. (Waiting for a later connection would wait out uv's 15 s timeout.)
            wait_for(lambda: [p for p in children_mentioning(proc.pid, str(req)) if " install " in cmdline(p)],
                     "the installing uv started", proc=proc)
            wait_for(lambda: len(asked) >= 2, "both uv processes asked the index", proc=proc)
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = proc.communicate(timeout=HANG)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, (stdout, stderr)
    assert "error:" in stderr and "Traceback" not in stderr
    assert not out.exists()
    assert_no_outputs(tmp_path)
    assert list(tmpdir.iterdir()) == []
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []  # the work directory lives there
    left = still_there(lambda: processes_mentioning(str(req)))
    for pid in left:  # do not leave them running for the rest of the session
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert left == [], f"uv processes still running after lambdapack exited: {left}"


@pytest.mark.network

def test_json_format_reports_build_errors_on_stdout(tmp_path: Path) -> None:
    """`--format json` promises "one JSON object on stdout" (build --help). A build that
    fails before verification (no wheel for the target, exit 1) must still print one,
    with ok=false and the error, as verification failures already do."""
    req = tmp_path / "r.txt"
    req.write_text("numpy==2.5.5\n", encoding="utf-8")
    r = run_lp(["build", str(write_handler(tmp_path / "src")), "--runtime", "python3.11", "--arch", "x86_64",
                "-r", str(req), "-o", str(tmp_path / "fn.zip"), "--format", "json"], cwd=tmp_path)
    assert r.returncode == 1, r.explain()
    assert "Traceback" not in r.stderr
    data = r.json
    assert isinstance(data, dict)
    assert data.get("ok") is False
    assert "numpy" in data["error"]["message"]
