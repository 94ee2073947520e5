"""Pipenv projects build what pipenv would install, read from Pipfile.lock without pipenv."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lock_tools import FIXTURES, for_target, installed, tool_env, tool_venv
from lp_helpers import lp_build_json, run_lp, write_handler

# `pipenv requirements` of the fixture, as pipenv printed it.
PIPENV_REQUIREMENTS = """\
-i https://pypi.org/simple
attrs==26.1.0; python_version >= '3.11'
certifi==2026.10.19.post1; python_version >= '3.7'
charset-normalizer==3.5.3; python_version >= '3.7'
idna==3.20; python_version >= '3.9'
pysocks==1.7.1; python_version >= '2.7' and python_version != '3.0' and python_version != '3.1' and python_version != '3.2' and python_version != '3.3'
pyyaml==6.0.2; python_version >= '3.8'
requests[socks]==2.32.3; python_version >= '3.8'
urllib3==2.8.0; python_version >= '3.10'
"""


def _project(tmp_path: Path) -> Path:
    src = Path(shutil.copytree(FIXTURES / "pipenv", tmp_path / "app"))
    write_handler(src)
    return src


@pytest.mark.network
@pytest.mark.parametrize(("runtime", "arch"), [("python3.12", "arm64"), ("python3.10", "x86_64")])
def test_build_dot_in_a_pipenv_project_installs_the_default_section(tmp_path: Path, runtime: str, arch: str) -> None:
    src = _project(tmp_path)
    _r, data = lp_build_json(["build", ".", "--runtime", runtime, "--arch", arch, "-o", str(tmp_path / "f.zip"),
                              "--no-compile", "--no-cache"], cwd=src)
    want = for_target(PIPENV_REQUIREMENTS, runtime, arch)
    assert installed(data) == want and "six" not in want
    assert ("attrs" in want) == (runtime == "python3.12")


@pytest.mark.parametrize("given", ["Pipfile", "Pipfile.lock"])
def test_r_pipfile_is_refused_with_the_option_that_reads_it(tmp_path: Path, given: str) -> None:
    src = _project(tmp_path)
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-r", str(src / given),
                "-o", str(tmp_path / "f.zip")], cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.explain()
    assert "is not a requirements file" in r.stderr and "--lock Pipfile.lock" in r.stderr


def test_a_pipfile_without_its_lock_is_an_error_not_an_empty_zip(tmp_path: Path) -> None:
    src = _project(tmp_path)
    (src / "Pipfile.lock").unlink()
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(tmp_path / "f.zip")],
               cwd=tmp_path)
    assert r.returncode == 2 and "has no Pipfile.lock" in r.stderr and "pipenv lock" in r.stderr, r.explain()
    assert not (tmp_path / "f.zip").exists()


@pytest.mark.network
def test_a_stale_pipfile_lock_fails(tmp_path: Path) -> None:
    src = _project(tmp_path)
    pipfile = src / "Pipfile"
    pipfile.write_text(pipfile.read_text(encoding="utf-8").replace("[dev-packages]", 'cryptography = "*"\n\n'
                                                                    "[dev-packages]"), encoding="utf-8")
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--lock", str(src / "Pipfile.lock"),
                "-o", str(tmp_path / "f.zip")], cwd=tmp_path)
    assert r.returncode == 2 and "is out of date" in r.stderr and "pipenv lock" in r.stderr, r.explain()


@pytest.mark.network
@pytest.mark.slow
def test_same_distributions_as_pipenv_requirements_with_real_pipenv(tmp_path: Path) -> None:
    """pipenv from PyPI locks a fresh Pipfile; lambdapack installs what `pipenv requirements` names."""
    bin_dir = tool_venv(tmp_path / "tool", "pipenv")
    src = tmp_path / "app"
    src.mkdir()
    (src / "Pipfile").write_text(
        '[[source]]\nurl = "https://pypi.org/simple"\nverify_ssl = true\nname = "pypi"\n\n'
        '[packages]\nrequests = {version = "==2.32.3", extras = ["socks"]}\ncryptography = "==44.0.0"\n\n'
        '[dev-packages]\npytest = "*"\n', encoding="utf-8")
    write_handler(src)
    env = tool_env({"PIPENV_VENV_IN_PROJECT": "1", "PIPENV_YES": "1", "PIPENV_NOSPIN": "1"})
    subprocess.run([str(bin_dir / "pipenv"), "lock"], cwd=src, check=True, timeout=600, env=env, capture_output=True)
    export = subprocess.run([str(bin_dir / "pipenv"), "requirements"], cwd=src, check=True, timeout=120, env=env,
                            capture_output=True, text=True).stdout
    shutil.rmtree(src / ".venv", ignore_errors=True)  # pipenv's own environment is not the function's code
    _r, data = lp_build_json(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--no-compile",
                              "--no-cache", "-o", str(tmp_path / "f.zip")], cwd=tmp_path)
    want = for_target(export, "python3.12", "x86_64")
    assert installed(data) == want and "cffi" in want and "pytest" not in want
