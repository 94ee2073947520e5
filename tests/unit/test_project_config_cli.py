"""The cascade through the real command line: `lambdapack build` in a subprocess, with a real config
file, real environment variables and flags. The builds have no dependencies, so uv is not run and
no network is needed (about half a second each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

CONFIG = """\
[project]
name = "demo"
version = "1"

[tool.lambdapack]
runtime = "python3.11"
arch = "arm64"
cache_dir = "cache-file"
src = "app"
output = "dist/from-file.zip"
"""


def project(tmp_path: Path, config: str = CONFIG) -> Path:
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    (tmp_path / "app" / "pkg").mkdir(parents=True)
    (tmp_path / "app" / "handler.py").write_text("def main(event, context):\n    return 1\n", encoding="utf-8")
    return tmp_path


def lambdapack(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # This machine's LAMBDAPACK_* must not decide the test; only the ones the test sets.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LAMBDAPACK_")}
    return subprocess.run([sys.executable, "-m", "lambdapack", "build", *args], cwd=cwd, env={**environ, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def built(cwd: Path, *args: str, **env: str) -> dict[str, Any]:
    run = lambdapack(cwd, "--format", "json", *args, **env)
    assert run.returncode == 0, run.stderr + run.stdout
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_the_file_gives_what_flags_would(tmp_path: Path) -> None:
    root = project(tmp_path)
    # From a directory below the project: the config is found upwards, its paths are the file's.
    result = built(root / "app" / "pkg")
    assert (result["target"]["runtime"], result["target"]["arch"]) == ("python3.11", "arm64")
    assert result["outputs"][0]["path"] == str(root / "dist" / "from-file.zip")
    assert (root / "dist" / "from-file.zip").is_file()
    assert (root / "cache-file").is_dir()


def test_env_beats_the_file_and_flags_beat_both(tmp_path: Path) -> None:
    root = project(tmp_path)
    built(root, LAMBDAPACK_CACHE_DIR=str(root / "cache-env"))
    assert (root / "cache-env").is_dir()
    assert not (root / "cache-file").exists()
    result = built(root, "--cache-dir", "cache-flag", "--runtime", "python3.12", "-o", "flag.zip",
                   LAMBDAPACK_CACHE_DIR=str(root / "cache-env2"))
    assert (root / "cache-flag").is_dir()
    assert not (root / "cache-env2").exists() and not (root / "cache-file").exists()
    assert (result["target"]["runtime"], result["target"]["arch"]) == ("python3.12", "arm64")
    out = Path(result["outputs"][0]["path"])  # a flag's path is the current directory's, shown absolute
    assert out.is_absolute() and out.samefile(root / "flag.zip")
    assert (root / "flag.zip").is_file()


def test_config_flag_and_no_config(tmp_path: Path) -> None:
    root = project(tmp_path, '[project]\nname = "demo"\n')  # no [tool.lambdapack]: nothing is given
    run = lambdapack(root, "app")
    assert run.returncode == 2
    assert run.stderr.splitlines()[0] == "error: no runtime given"
    (root / "ci.toml").write_text('runtime = "python3.13"\narch = "x86_64"\ncache_dir = "c"\n', encoding="utf-8")
    result = built(root, "app", "--config", "ci.toml", "-o", "fn.zip")
    assert (result["target"]["runtime"], result["target"]["arch"]) == ("python3.13", "x86_64")


def test_a_config_mistake_is_exit_2_and_one_error_line(tmp_path: Path) -> None:
    root = project(tmp_path, CONFIG + "\n[tool.lambdapack.functions.api]\nsrc = \"app\"\nhandlr = \"handler.main\"\n")
    run = lambdapack(root / "app")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"error: {root / 'pyproject.toml'}: [tool.lambdapack.functions.api] unknown key 'handlr' "
        "(did you mean 'handler'?)"]
    run = lambdapack(root, "--format", "json")
    assert run.returncode == 2
    assert json.loads(run.stdout)["error"]["message"] == (
        "pyproject.toml: [tool.lambdapack.functions.api] unknown key 'handlr' (did you mean 'handler'?)")


def test_a_mistyped_name_in_a_project_is_named_with_the_closest_one(tmp_path: Path) -> None:
    # Not a defined name and not a directory: a typo of a function's name, not a missing SRC_DIR.
    root = project(tmp_path, CONFIG + '\n[tool.lambdapack.functions.api]\nsrc = "app"\n')
    run = lambdapack(root, "apj")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.splitlines() == ["error: the project has no function or layer 'apj' (did you mean 'api'?)",
                                       "hint: defined: api"]
    # A directory of that name is still built as SRC_DIR.
    assert built(root, "app", "-o", "dist/one.zip")["outputs"][0]["path"].endswith("one.zip")
