"""uv projects (issue 11 item 1): a packaged project installs itself as a wheel; dependency groups
from pyproject.toml and uv.lock; --locked / --frozen / --relock on a stale uv.lock; --index and
--default-index against a real index on loopback. Real uv, real PyPI where marked `network`."""

from __future__ import annotations

import http.server
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from host_pythons import need_interpreter
from loopback import loopback
from lp_helpers import clean_env, lp_build_json, run_lp
from wheels import write_wheel

TARGET = ["--runtime", "python3.12", "--arch", "x86_64"]

PACKAGED = """[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["six==1.17.0"]

[project.optional-dependencies]
web = ["idna==3.10"]

[dependency-groups]
aws = ["jmespath==1.0.1"]
tools = [{include-group = "aws"}, "certifi==2025.8.3"]
dev = ["iniconfig==2.1.0"]

[build-system]
requires = ["hatchling==1.27.0"]
build-backend = "hatchling.build"
"""

HANDLER = """import six

from demo.helpers import shout


def main(event, context):
    return shout(six.__name__)
"""


def _lock(root: Path) -> None:
    subprocess.run([sys.executable, "-m", "uv", "lock", "--project", str(root), "-q"], check=True,
                   env=clean_env(), timeout=300)


def _packaged(root: Path, pyproject: str = PACKAGED) -> Path:
    """A src-layout project whose handler imports its own package and a dependency, locked by uv."""
    pkg = root / "src" / "demo"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "handler.py").write_text(HANDLER, encoding="utf-8")
    (pkg / "helpers.py").write_text("def shout(s):\n    return s.upper()\n", encoding="utf-8")
    (root / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return 1\n", encoding="utf-8")
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    _lock(root)
    return root


def _names(data: dict[str, object]) -> dict[str, str]:
    dists = data["distributions"]
    assert isinstance(dists, list)
    return {d["name"].lower().replace("_", "-"): d["version"] for d in dists}


@pytest.mark.network
def test_a_packaged_project_installs_itself_and_its_handler_imports(tmp_path: Path) -> None:
    src = _packaged(tmp_path / "proj")
    out = tmp_path / "fn.zip"
    cache = ["--cache-dir", str(src / ".cache" / "lambdapack")]  # inside the project, as configs often put it
    _r, data = lp_build_json(["build", str(src), *TARGET, "-o", str(out), "--handler", "demo.handler.main",
                              "--no-compile", *cache], cwd=tmp_path)
    assert _names(data)["demo"] == "0.1.0" and _names(data)["six"] == "1.17.0"
    names = zipfile.ZipFile(out).namelist()
    # The package ships installed (with its dist-info), never again as src/ "code"; loose files still go in.
    assert "demo/handler.py" in names and "demo/helpers.py" in names and "demo-0.1.0.dist-info/RECORD" in names
    assert not any(n.startswith("src/") for n in names), names
    assert "lambda_function.py" in names and "pyproject.toml" not in names
    need_interpreter((3, 12))
    smoke = run_lp(["smoke", str(out), *TARGET, "--handler", "demo.handler.main"], cwd=tmp_path)
    assert smoke.returncode == 0, smoke.explain()

    # Nothing changed: the no-change shortcut (a cache inside the project does not count as a change).
    again = run_lp(["build", str(src), *TARGET, "-o", str(out), "--handler", "demo.handler.main",
                    "--no-compile", *cache], cwd=tmp_path)
    assert again.returncode == 0 and "no change" in again.stderr, again.explain()
    assert "resolving" not in again.stderr and "staging" not in again.stderr, again.explain()
    # An edit of the package's source rebuilds it (same name and version, new content).
    time.sleep(0.01)
    (src / "src" / "demo" / "helpers.py").write_text("def shout(s):\n    return s + '!'\n", encoding="utf-8")
    lp_build_json(["build", str(src), *TARGET, "-o", str(out), "--no-compile", *cache], cwd=tmp_path)
    with zipfile.ZipFile(out) as zf:
        assert "return s + '!'" in zf.read("demo/helpers.py").decode()


@pytest.mark.network
def test_a_virtual_project_ships_its_files_as_code(tmp_path: Path) -> None:
    """`tool.uv.package = false` wins over [build-system]: nothing is built, src/ is your code."""
    src = _packaged(tmp_path / "proj", PACKAGED + "\n[tool.uv]\npackage = false\n")
    out = tmp_path / "fn.zip"
    _r, data = lp_build_json(["build", str(src), *TARGET, "-o", str(out), "--no-compile", "--no-cache"],
                             cwd=tmp_path)
    assert "demo" not in _names(data)
    assert "src/demo/handler.py" in zipfile.ZipFile(out).namelist()


@pytest.mark.network
@pytest.mark.parametrize("lock", [True, False], ids=["uv.lock", "pyproject"])
def test_groups_from_the_lock_and_from_pyproject(tmp_path: Path, lock: bool) -> None:
    src = _packaged(tmp_path / "proj")
    if not lock:
        (src / "uv.lock").unlink()
    out = tmp_path / "fn.zip"
    _r, data = lp_build_json(["build", str(src), *TARGET, "-o", str(out), "--no-compile", "--no-cache",
                              "--group", "tools", "--all-extras"], cwd=tmp_path)
    names = _names(data)
    assert data["inputs"]["kind"] == ("lock" if lock else "pyproject")
    # `tools` includes `aws`; dev stays out unless asked for; --all-extras takes `web`.
    assert names["jmespath"] == "1.0.1" and names["certifi"] == "2025.8.3" and names["idna"] == "3.10"
    assert "iniconfig" not in names
    _r, plain = lp_build_json(["build", str(src), *TARGET, "-o", str(out), "--no-compile", "--no-cache"],
                              cwd=tmp_path)
    assert not {"jmespath", "certifi", "idna"} & set(_names(plain))


@pytest.mark.network
def test_unknown_group_and_extra_name_the_defined_ones(tmp_path: Path) -> None:
    src = _packaged(tmp_path / "proj")
    out = tmp_path / "fn.zip"
    for flag, word in (("--group", "toolz"), ("--extra", "webb")):
        r = run_lp(["build", str(src), *TARGET, "-o", str(out), "--no-cache", flag, word], cwd=tmp_path)
        assert r.returncode == 2, r.explain()
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
        assert len(errors) == 1 and word in errors[0] and "defined:" in errors[0], r.explain()
        assert "Traceback" not in r.stderr and not out.exists()
    assert "aws, dev, tools" in run_lp(["build", str(src), *TARGET, "-o", str(out), "--group", "x"],
                                       cwd=tmp_path).stderr


@pytest.mark.network
def test_a_stale_lock_locked_frozen_and_relock(tmp_path: Path) -> None:
    src = _packaged(tmp_path / "proj")
    text = (src / "pyproject.toml").read_text(encoding="utf-8")
    (src / "pyproject.toml").write_text(text.replace('"six==1.17.0"', '"six==1.17.0", "urllib3==2.5.0"'),
                                        encoding="utf-8")
    before = (src / "uv.lock").read_bytes()
    out = tmp_path / "fn.zip"
    base = ["build", str(src), *TARGET, "-o", str(out), "--no-compile", "--no-cache"]

    r = run_lp([*base, "--locked"], cwd=tmp_path)
    assert r.returncode == 2 and "out of date" in r.stderr and "`uv lock`" in r.stderr, r.explain()
    assert not out.exists() and "Traceback" not in r.stderr

    _r, frozen = lp_build_json([*base, "--frozen"], cwd=tmp_path)
    assert "urllib3" not in _names(frozen) and _names(frozen)["six"] == "1.17.0"

    _r, relocked = lp_build_json([*base, "--relock"], cwd=tmp_path)
    assert _names(relocked)["urllib3"] == "2.5.0" and _names(relocked)["demo"] == "0.1.0"
    assert any("--relock" in w and "unchanged" in w for w in relocked["warnings"]), relocked["warnings"]
    assert (src / "uv.lock").read_bytes() == before  # the user's lock is never written
    assert not (src / "relock").exists()

    r = run_lp([*base, "--frozen", "--relock"], cwd=tmp_path)
    assert r.returncode == 2 and "not allowed with" in r.stderr


# --- --index / --default-index against a PEP 503 index on loopback ---------------------------


def _index_handler(wheels: Path) -> type[http.server.BaseHTTPRequestHandler]:
    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = [p for p in self.path.split("/") if p]
            body, status = b"", 404
            if len(parts) == 2 and parts[0] == "simple":
                links = [f'<a href="/files/{w.name}">{w.name}</a>' for w in sorted(wheels.glob("*.whl"))
                         if w.name.split("-")[0].replace("_", "-") == parts[1]]
                body, status = (f"<html><body>{''.join(links)}</body></html>".encode(), 200) if links else (b"", 404)
            elif len(parts) == 2 and parts[0] == "files" and (wheels / parts[1]).is_file():
                body, status = (wheels / parts[1]).read_bytes(), 200
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if parts[:1] == ["simple"] else "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        do_HEAD = do_GET  # uv asks a wheel's size (and range support) first

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Index


@pytest.fixture
def local_index(tmp_path: Path) -> Iterator[str]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "alpha", "1.0")
    write_wheel(wheels, "beta", "2.0")
    with loopback(_index_handler(wheels)) as port:
        yield f"http://127.0.0.1:{port}/simple/"


_NO_UV_INDEXES = ["UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS"]


@pytest.mark.parametrize("runtime", ["python3.12", "python3.11"])  # python3.11: through the glibc-ceiling proxy
def test_default_index_replaces_pypi(local_index: str, tmp_path: Path, runtime: str) -> None:
    (tmp_path / "requirements.txt").write_text("alpha==1.0\nbeta\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    out = tmp_path / "layer.zip"
    env = clean_env(drop=_NO_UV_INDEXES)
    _r, data = lp_build_json(["build", "--layer", "--runtime", runtime, "--arch", "x86_64", "-r",
                              str(tmp_path / "requirements.txt"), "-o", str(out), "--no-cache", "--no-held-back",
                              "--default-index", local_index], cwd=tmp_path, env=env)
    assert _names(data) == {"alpha": "1.0", "beta": "2.0"}
    r = run_lp(["build", "--layer", *TARGET, "-r", str(tmp_path / "requirements.txt"), "-o", str(out),
                "--default-index", local_index, "--index-url", local_index], cwd=tmp_path, env=env)
    assert r.returncode == 2 and "--default-index" in r.stderr and "Traceback" not in r.stderr, r.explain()


@pytest.mark.network
@pytest.mark.parametrize("runtime", ["python3.12", "python3.11"])
def test_index_adds_to_pypi(local_index: str, tmp_path: Path, runtime: str) -> None:
    """alpha exists only on the loopback index, six only on PyPI: --index adds, PyPI stays."""
    (tmp_path / "requirements.txt").write_text("alpha==1.0\nsix==1.17.0\n", encoding="utf-8")
    out = tmp_path / "layer.zip"
    _r, data = lp_build_json(["build", "--layer", "--runtime", runtime, "--arch", "x86_64", "-r",
                              str(tmp_path / "requirements.txt"), "-o", str(out), "--no-cache", "--no-held-back",
                              "--index", f"local={local_index}"], cwd=tmp_path, env=clean_env(drop=_NO_UV_INDEXES))
    assert _names(data) == {"alpha": "1.0", "six": "1.17.0"}


def test_group_with_a_requirements_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("six\n", encoding="utf-8")
    out = tmp_path / "layer.zip"
    r = run_lp(["build", "--layer", *TARGET, "-r", str(tmp_path / "requirements.txt"), "-o", str(out),
                "--group", "aws", "--no-cache"], cwd=tmp_path)
    assert r.returncode == 2 and "requirements file" in r.stderr and "Traceback" not in r.stderr, r.explain()
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["requirements.txt"]
