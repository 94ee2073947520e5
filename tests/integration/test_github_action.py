"""The composite action (action.yml at the repository root), run as GitHub runs it: each `run:`
step a bash script (`bash --noprofile --norc -eo pipefail FILE`) in its working directory, with its
`env:` and `${{ }}` expressions substituted, the `GITHUB_OUTPUT`, `GITHUB_ENV` and `GITHUB_PATH`
files honoured between steps, all driven by one bash script. The one `uses:` step,
actions/setup-python, is stood in for by this interpreter's base Python as `python` on PATH.
lambdapack is installed for real (pip, from a copy of this checkout) and builds
examples/github-actions against real PyPI.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lp_helpers import clean_env

pytestmark = pytest.mark.network

REPO = Path(__file__).resolve().parents[2]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def substitute(text: str, context: dict[str, str]) -> str:
    """GitHub's `${{ x }}` for the names in `context`; any other expression fails the test, so the
    action cannot grow one this runner would silently get wrong."""
    def value(m: re.Match[str]) -> str:
        assert m[1] in context, f"expression {m[0]} is not emulated here"
        return context[m[1]]
    return EXPRESSION.sub(value, text)


def driver(action: dict[str, Any], context: dict[str, str], work: Path) -> str:
    """One bash script running the action's `run:` steps in order."""
    lines = ["set -e"]
    for i, step in enumerate(action["runs"]["steps"]):
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@"), step
            continue
        assert step.get("shell") == "bash", step
        script = work / f"step{i}.sh"
        script.write_text(substitute(step["run"], context), encoding="utf-8", newline="\n")
        exports = "".join(f"export {k}={shlex.quote(substitute(str(v), context))}; "
                          for k, v in (step.get("env") or {}).items())
        cwd = shlex.quote(substitute(step.get("working-directory", "."), context))
        lines += [
            # What earlier steps appended to GITHUB_PATH and GITHUB_ENV applies from the next step on.
            'while IFS= read -r p; do if [ -n "$p" ]; then PATH="$p:$PATH"; fi; done < "$GITHUB_PATH"',
            'while IFS= read -r kv; do if [ -n "$kv" ]; then export "$kv"; fi; done < "$GITHUB_ENV"',
            f"(cd {cwd} && {exports}bash --noprofile --norc -eo pipefail {shlex.quote(script.as_posix())})",
        ]
    return "\n".join(lines) + "\n"


def _action_checkout(dest: Path) -> Path:
    # What `uses: OWNER/lambdapack@ref` checks out, without this worktree's venv and caches.
    shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(
        ".venv", ".ci-tools", ".git", "dist", "build", "*.egg-info", "__pycache__", "*_cache", "tests", "bench"))
    return dest


@dataclass
class ActionRun:
    action: dict[str, Any]
    project: Path
    runner: Path
    run: subprocess.CompletedProcess[str]

    def file(self, name: str) -> str:
        return (self.runner / name.lower()).read_text(encoding="utf-8")


def run_action(tmp_path: Path, given: dict[str, str]) -> ActionRun:
    """The action with these inputs (project-dir is the example's copy), as a runner would run it."""
    bash = shutil.which("bash")
    if bash is None or os.name == "nt":
        pytest.skip("needs bash on a POSIX host (the action's steps are bash scripts)")
    action_dir = _action_checkout(tmp_path / "action")
    action = yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))
    project = tmp_path / "repo" / "app"
    shutil.copytree(REPO / "examples" / "github-actions", project, ignore=shutil.ignore_patterns("dist"))
    given = {"project-dir": str(project), **given}
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | given
    context = {f"inputs.{k}": v for k, v in inputs.items()} | {"github.action_path": str(action_dir)}
    runner = tmp_path / "runner"
    (runner / "temp").mkdir(parents=True)
    files = {name: runner / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")}
    for f in files.values():
        f.touch()
    shim = runner / "setup-python"
    shim.mkdir()
    (shim / "python").symlink_to(getattr(sys, "_base_executable", sys.executable))
    env = clean_env({"PATH": os.pathsep.join([str(shim), os.environ.get("PATH", os.defpath)]),
                     "RUNNER_TEMP": str(runner / "temp"), **{k: str(v) for k, v in files.items()}})
    (runner / "run.sh").write_text(driver(action, context, runner), encoding="utf-8", newline="\n")
    run = subprocess.run([bash, str(runner / "run.sh")], cwd=tmp_path / "repo", env=env, capture_output=True,
                         text=True, timeout=900, check=False)
    return ActionRun(action, project, runner, run)


def test_action_installs_lambdapack_builds_and_outputs_the_manifest(tmp_path: Path) -> None:
    # Inputs differ from the project config's python3.12 arm64, so the test sees them arrive.
    r = run_action(tmp_path, {"names": "hello", "runtime": "python3.13", "arch": "x86_64"})
    assert r.run.returncode == 0, r.run.stdout[-3000:] + r.run.stderr[-3000:]
    outputs = dict(line.split("=", 1) for line in r.file("GITHUB_OUTPUT").splitlines())
    step_context = {f"steps.build.outputs.{k}": v for k, v in outputs.items()}
    manifest = Path(substitute(r.action["outputs"]["manifest"]["value"], step_context))
    assert manifest == r.project / "dist" / "lambdapack.json" and manifest.is_file()
    assert Path(substitute(r.action["outputs"]["dist"]["value"], step_context)) == r.project / "dist"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))  # JSON is YAML
    hello = next(a for a in data["artifacts"] if a["name"] == "hello")
    assert (hello["runtime"], hello["arch"], hello["handler"]) == ("python3.13", "x86_64", "app.handler")
    names = set(zipfile.ZipFile(manifest.parent / hello["path"]).namelist())
    assert {"app.py", "six.py"} <= names and not any(n.startswith("attrs/") for n in names)  # attrs: the layer's
    # The lambdapack that built it is the one the action installed, not this test's.
    assert str(r.runner / "temp" / "lambdapack-venv") in r.file("GITHUB_PATH")
    assert f"function hello python3.13 x86_64: hello.zip {hello['sha256_base64']}" in r.run.stderr


def test_a_bad_input_fails_the_step_with_lambdapacks_error_and_no_outputs(tmp_path: Path) -> None:
    r = run_action(tmp_path, {"arch": "sparc"})
    assert r.run.returncode == 2, r.run.stderr[-3000:]  # bad usage or input, README's exit-code table
    assert "error: unknown architecture 'sparc'" in r.run.stderr and "Traceback" not in r.run.stderr
    assert r.file("GITHUB_OUTPUT") == "" and not (r.project / "dist").exists()
