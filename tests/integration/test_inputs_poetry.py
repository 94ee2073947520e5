"""Poetry projects build what Poetry would install, read from poetry.lock without Poetry."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lock_tools import FIXTURES, for_target, installed, tool_env, tool_venv
from lp_helpers import lp_build_json, run_lp, write_handler, zip_names

# `poetry export -f requirements.txt --without-hashes` of the fixtures, as Poetry printed it.
POETRY1_EXPORT = """\
attrs==26.1.0 ; python_version >= "3.11" and python_version < "4.0"
certifi==2026.10.19.post1 ; python_version >= "3.10" and python_version < "4.0"
charset-normalizer==3.5.3 ; python_version >= "3.10" and python_version < "4.0"
idna==3.20 ; python_version >= "3.10" and python_version < "4.0"
pysocks==1.7.1 ; python_version >= "3.10" and python_version < "4.0"
requests[socks]==2.32.3 ; python_version >= "3.10" and python_version < "4.0"
urllib3==2.8.0 ; python_version >= "3.10" and python_version < "4.0"
"""


def _project(tmp_path: Path, which: str) -> Path:
    src = Path(shutil.copytree(FIXTURES / which, tmp_path / which))
    write_handler(src)
    return src


@pytest.mark.network
def test_build_dot_in_a_poetry_project_installs_the_main_group(tmp_path: Path) -> None:
    src = _project(tmp_path, "poetry1")
    (src / "requirements.txt").write_text("six==1.17.0\n", encoding="utf-8")  # a competing, stale file
    out = tmp_path / "fn.zip"
    args = ["build", ".", "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out), "--no-compile"]
    _r, data = lp_build_json([*args, "--no-cache"], cwd=src)
    assert installed(data) == for_target(POETRY1_EXPORT, "python3.12", "x86_64")
    assert data["inputs"]["kind"] == "lock"
    text = run_lp(args, cwd=src)  # the progress line says which input was used, and what was not
    said = text.stdout + text.stderr
    assert "dependencies: using poetry.lock" in said and "ignored: requirements.txt (pip)" in said, text.explain()
    names = zip_names(out)
    assert "requests/__init__.py" in names and "six.py" not in names


@pytest.mark.network
def test_lock_poetry_lock_by_name_with_an_extra_on_python310(tmp_path: Path) -> None:
    src = _project(tmp_path, "poetry1")
    _r, data = lp_build_json(["build", str(src), "--runtime", "python3.10", "--arch", "arm64", "--lock",
                              str(src / "poetry.lock"), "--extra", "yaml", "--no-compile", "--no-cache",
                              "-o", str(tmp_path / "fn.zip")], cwd=tmp_path)
    got = installed(data)
    assert got["pyyaml"] == "6.0.2" and "attrs" not in got  # attrs only for python >= 3.11


@pytest.mark.network
def test_a_stale_poetry_lock_fails_before_any_install(tmp_path: Path) -> None:
    src = _project(tmp_path, "poetry2")
    py = src / "pyproject.toml"
    py.write_text(py.read_text(encoding="utf-8").replace('"requests==2.32.3"', '"requests==2.32.3", "cryptography"'),
                  encoding="utf-8")
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.explain()
    assert "poetry.lock is out of date with pyproject.toml" in r.stderr and "poetry lock" in r.stderr
    assert not out.exists()


def test_a_poetry_project_without_its_lock_is_an_error_not_an_empty_zip(tmp_path: Path) -> None:
    src = _project(tmp_path, "poetry1")
    (src / "poetry.lock").unlink()
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(tmp_path / "f.zip")],
               cwd=tmp_path)
    assert r.returncode == 2 and "no poetry.lock" in r.stderr and "poetry lock" in r.stderr, r.explain()
    assert "dependencies: none" not in r.stderr


@pytest.mark.network
@pytest.mark.slow
def test_same_distributions_as_poetry_export_with_real_poetry(tmp_path: Path) -> None:
    """Poetry 2 from PyPI locks a fresh project; lambdapack installs what `poetry export` names."""
    bin_dir = tool_venv(tmp_path / "tool", "poetry", "poetry-plugin-export")
    src = tmp_path / "app"
    src.mkdir()
    (src / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["requests[socks]==2.32.3", "cryptography==44.0.0", '
        '"exceptiongroup>=1.2; python_version < \'3.11\'"]\n'
        '[tool.poetry]\npackage-mode = false\n[tool.poetry.group.dev.dependencies]\npytest = "*"\n',
        encoding="utf-8")
    write_handler(src)
    env = tool_env({"POETRY_VIRTUALENVS_CREATE": "false"})
    subprocess.run([str(bin_dir / "poetry"), "lock", "-q"], cwd=src, check=True, timeout=600, env=env)
    export = subprocess.run([str(bin_dir / "poetry"), "export", "-f", "requirements.txt", "--without-hashes"],
                            cwd=src, check=True, timeout=120, env=env, capture_output=True, text=True).stdout
    for runtime, arch in (("python3.10", "x86_64"), ("python3.13", "arm64")):
        _r, data = lp_build_json(["build", str(src), "--runtime", runtime, "--arch", arch, "--no-compile",
                                  "--no-cache", "-o", str(tmp_path / f"{runtime}.zip")], cwd=tmp_path)
        want = for_target(export, runtime, arch)
        assert installed(data) == want and "pytest" not in want and "cffi" in want
