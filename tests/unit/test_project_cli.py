"""A project build through the real command line, with functions that have no dependencies (uv
is not run, no network): names against directories, and a no-change build that rewrites nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFIG = """\
[tool.lambdapack]
runtime = "python3.12"
arch = "x86_64"
cache_dir = "cache"

[tool.lambdapack.functions.api]
src = "api"
handler = "app.main"

[tool.lambdapack.functions.worker]
src = "worker"
handler = "work.main"
"""


def project(root: Path) -> Path:
    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    for name, module in (("api", "app"), ("worker", "work")):
        (root / name).mkdir()
        (root / name / f"{module}.py").write_text("def main(event, context):\n    return 1\n", encoding="utf-8")
    return root


def lambdapack(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LAMBDAPACK_")}
    return subprocess.run([sys.executable, "-m", "lambdapack", "build", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_mistyped_name_is_a_did_you_mean_not_a_missing_directory(tmp_path: Path) -> None:
    run = lambdapack(project(tmp_path), "wroker")
    assert run.returncode == 2, run.stderr
    assert "no function or layer 'wroker' (did you mean 'worker'?)" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "dist").exists()


def test_a_directory_that_is_not_a_name_is_a_single_build(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "other").mkdir()
    (root / "other" / "h.py").write_text("def main(e, c):\n    return 2\n", encoding="utf-8")
    run = lambdapack(root, "other", "-o", "out/other.zip", "--handler", "h.main")
    assert run.returncode == 0, run.stderr
    assert (root / "out" / "other.zip").is_file()
    assert not (root / "dist" / "lambdapack.json").exists()  # no project build happened


def test_a_no_change_build_rewrites_neither_zips_nor_manifest(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert lambdapack(root).returncode == 0
    dist = root / "dist"
    outputs = sorted(p for p in dist.iterdir() if not p.name.startswith("."))
    assert [p.name for p in outputs] == ["api.zip", "lambdapack.json", "worker.zip"]
    old = 1_000_000_000  # set the clock back, so any rewrite shows
    for p in outputs:
        os.utime(p, (old, old))
    again = lambdapack(root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("cached") == 2, again.stdout
    # The zips stay; the manifest changes once, to say the artifacts were reused ("cached": true).
    assert [p.stat().st_mtime for p in outputs] == [old, outputs[1].stat().st_mtime, old]
    assert outputs[1].stat().st_mtime != old
    os.utime(outputs[1], (old, old))
    assert lambdapack(root).returncode == 0
    assert [p.stat().st_mtime for p in outputs] == [old] * 3


def test_an_output_ending_in_a_slash_is_a_folder_in_the_config_too(tmp_path: Path) -> None:
    """`output = "out/"` names a folder, as `-o out/` does: a function's zip is out/NAME.zip; the
    file's top-level output for a single build takes the default name inside it."""
    root = project(tmp_path)
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    (root / "pyproject.toml").write_text(text.replace('handler = "app.main"\n', 'handler = "app.main"\noutput = "out/"\n'),
                                         encoding="utf-8")
    run = lambdapack(root, "api")
    assert run.returncode == 0, run.stderr
    assert (root / "out" / "api.zip").is_file() and not (root / "out" / "<default name>").exists()
    (root / "single").mkdir()
    (root / "single" / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return 1\n", encoding="utf-8")
    (root / "lambdapack.toml").write_text('runtime = "python3.12"\narch = "x86_64"\noutput = "zips/"\n',
                                          encoding="utf-8")
    (root / "pyproject.toml").unlink()
    run = lambdapack(root, "single")
    assert run.returncode == 0, run.stderr
    assert [p.name for p in (root / "zips").iterdir()] == ["function-python3.12-x86_64.zip"]
