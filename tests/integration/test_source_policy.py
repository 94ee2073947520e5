"""The source-tree policy and secrets by content, through the real CLI (issue 8, items 1-2).

Real links to a temp "home" with a fake AWS credentials file, real FIFOs and sockets,
a real 1,500-level tree, real zips given to `check`, real packages from PyPI.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from host_pythons import pyenv_python
from lp_helpers import HANG, assert_no_outputs, clean_env, run_lp, write_handler

AKID = "AKIAZ3JQWERTYUIOPL12"  # made up, in the format AWS issues
SECRET = "k9Jd8sLq2Wv7Xn3Bp5Rt1Yz6Mc4Fg0Hh2Aa9Qe1T"
GHP = "ghp_Xq7Rz2Lm9Kp4Wt6Yb1Nc8Vd3Hf5Gs0Ja2Eu7"
CREDENTIALS = f"[default]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\n"
TARGET = ["--runtime", "python3.12", "--arch", "x86_64"]


def _link(link: Path, target: str | Path, *, directory: bool = False) -> None:
    try:
        link.symlink_to(target, target_is_directory=directory)
    except OSError as e:
        pytest.skip(f"cannot create symlinks here: {e}")


def _build(src: Path, out: Path, *extra: str, timeout: float = 300) -> tuple[Any, dict[str, Any] | None]:
    r = run_lp(["build", str(src), *TARGET, "-o", str(out), "--no-compile", "--format", "json", *extra],
               cwd=src.parent, timeout=timeout)
    assert "Traceback" not in r.stderr, r.explain()
    return r, (r.json if r.stdout.strip() else None)


def _error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith(("error:", "hint:"))]


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """src/settings.ini -> home/.aws/credentials, src/conf -> home/.aws, src/passwd -> /etc/passwd."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(CREDENTIALS, encoding="utf-8")
    src = write_handler(tmp_path / "src")
    _link(src / "settings.ini", home / ".aws" / "credentials")
    _link(src / "conf", home / ".aws", directory=True)
    if Path("/etc/passwd").is_file():
        _link(src / "passwd", "/etc/passwd")
    return src, home


def test_links_leaving_the_source_fail_before_anything_is_written(linked: tuple[Path, Path], tmp_path: Path) -> None:
    src, home = linked
    out = tmp_path / "fn.zip"
    r, _data = _build(src, out)
    assert r.returncode == 2, r.explain()
    err, hint = _error_lines(r.stderr)
    assert err == (f"error: conf in {src} is a symlink to {home / '.aws'}, outside the source directory "
                   f"(and {1 + Path('/etc/passwd').is_file()} more: "
                   + ("passwd -> /etc/passwd, " if Path("/etc/passwd").is_file() else "")
                   + f"settings.ini -> {home / '.aws' / 'credentials'})")
    assert hint.startswith("hint: ") and "--follow-external-links" in hint
    assert not out.exists()
    assert_no_outputs(tmp_path)


def test_following_them_still_trips_the_secret_rule_and_allow_secret_overrides(
    linked: tuple[Path, Path], tmp_path: Path
) -> None:
    src, _home = linked
    out = tmp_path / "fn.zip"
    r, data = _build(src, out, "--follow-external-links")
    assert r.returncode == 1, r.explain()
    assert data is not None
    lp402 = {f["path"]: f for f in data["findings"] if f["code"] == "LP402"}
    assert sorted(lp402) == ["conf/credentials", "settings.ini"], data["findings"]
    assert all(f["severity"] == "error" for f in lp402.values())
    assert lp402["settings.ini"]["message"].startswith("AWS access key id at line 2 (AKIA…PL12), and 1 more")
    assert AKID not in r.stdout + r.stderr and SECRET not in r.stdout + r.stderr
    assert not out.exists()
    assert_no_outputs(tmp_path)

    r, data = _build(src, out, "--follow-external-links", "--allow-secret", "settings.ini",
                     "--allow-secret", "conf/*")
    assert r.returncode == 0, r.explain()
    assert data is not None
    allowed = {f["path"]: f for f in data["findings"] if f["code"] == "LP402"}
    assert sorted(allowed) == ["conf/credentials", "settings.ini"]
    assert {f["severity"] for f in allowed.values()} == {"warning"}
    assert "--allow-secret 'conf/*'" in allowed["conf/credentials"]["message"]
    outside = sorted(w.split(":")[0] for w in data["warnings"] if "outside the source directory" in w)
    assert outside == sorted(["conf/credentials", "settings.ini", *(["passwd"] if Path("/etc/passwd").is_file() else [])])
    with zipfile.ZipFile(out) as zf:
        assert zf.read("settings.ini") == CREDENTIALS.encode()  # the content, not a link entry
        assert zf.read("conf/credentials") == CREDENTIALS.encode()
        assert not any(stat.S_ISLNK(i.external_attr >> 16) for i in zf.infolist())

    # The cached zip that --allow-secret let through is never reused without it.
    r, data = _build(src, tmp_path / "again.zip", "--follow-external-links", "--allow-secret", "settings.ini")
    assert r.returncode == 1, r.explain()
    assert data is not None
    assert [f["path"] for f in data["findings"] if f["severity"] == "error"] == ["conf/credentials"]
    assert not (tmp_path / "again.zip").exists()


def test_links_inside_the_tree_ship_as_content_and_cycles_end(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    (src / "common").mkdir()
    (src / "common" / "util.py").write_text("X = 1\n", encoding="utf-8")
    _link(src / "shared", "common", directory=True)
    _link(src / "alias.py", "lambda_function.py")
    _link(src / "common" / "again", "..", directory=True)  # a cycle
    out = tmp_path / "fn.zip"
    r, data = _build(src, out)
    assert r.returncode == 0, r.explain()
    assert data is not None
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["alias.py", "common/util.py", "lambda_function.py", "shared/util.py"]
        assert zf.read("alias.py") == (src / "lambda_function.py").read_bytes()
    assert [w for w in data["warnings"] if "link cycle" in w] == [
        f"common/again: skipped, a symlink to {src}, which contains it (a link cycle)",
        f"shared/again: skipped, a symlink to {src}, which contains it (a link cycle)",
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not hasattr(socket, "AF_UNIX"), reason="needs FIFOs and Unix sockets")
def test_fifo_and_socket_are_skipped_with_a_note_and_never_opened(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    os.mkfifo(src / "pipe")  # opening it would block forever: the timeout below catches a hang
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(src / "app.sock"))
        _link(src / "pipe_link", "pipe")
        out = tmp_path / "fn.zip"
        r, data = _build(src, out, timeout=120)
    finally:
        sock.close()
    assert r.returncode == 0, r.explain()
    assert data is not None
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["lambda_function.py"]
    notes = [w for w in data["warnings"] if "skipped" in w]
    assert notes == ["app.sock: skipped, a socket", "pipe: skipped, a FIFO", "pipe_link: skipped, a FIFO"]


def _remove_iteratively(root: Path) -> None:
    """shutil.rmtree recurses on 3.10/3.11 (so does pytest's cleanup of old temp dirs)."""
    stack = [os.fspath(root)]
    while stack:
        with os.scandir(stack[-1]) as it:
            subdirs = []
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    subdirs.append(e.path)
                else:
                    Path(e.path).unlink()
        if subdirs:
            stack.extend(subdirs)  # this directory is removed when they are gone
        else:
            Path(stack.pop()).rmdir()


@pytest.fixture
def deep(tmp_path: Path) -> Iterator[Path]:
    """A source tree 1,500 directories deep, removed without recursion afterwards."""
    src = _deep_tree(tmp_path, 1500)
    yield src
    _remove_iteratively(src)


def _deep_tree(root: Path, depth: int) -> Path:
    src = write_handler(root / "src")
    d = src
    for _ in range(depth):
        d = d / "d"
        d.mkdir()
    (d / "leaf.py").write_text("Y = 2\n", encoding="utf-8")
    return src


def test_a_1500_level_tree_builds_quickly(deep: Path, tmp_path: Path) -> None:
    """os.walk recursed (RecursionError on 3.10/3.11) and resolved every directory (219 s on 3.12)."""
    src = deep
    out = tmp_path / "fn.zip"
    t = time.perf_counter()
    # Only the timeout bounds it: the old walk took 219 s, far past HANG; a loaded machine
    # takes a few seconds.
    r, _data = _build(src, out, timeout=HANG)
    took = time.perf_counter() - t
    print(f"1,500-level tree: build took {took:.1f} s on Python {sys.version.split()[0]}")
    assert r.returncode == 0, r.explain()
    with zipfile.ZipFile(out) as zf:
        assert zf.read("d/" * 1500 + "leaf.py") == b"Y = 2\n"


@pytest.fixture(scope="module")
def pure_deps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lambdapack's pure-Python dependencies for other interpreters (installed by uv from PyPI)."""
    target = tmp_path_factory.mktemp("deps")
    py310 = pyenv_python(10)
    if py310 is None:
        pytest.skip("no Python 3.10 under pyenv")
    subprocess.run([sys.executable, "-m", "uv", "pip", "install", "-q", "--target", str(target), "--python",
                    str(py310), "packaging", "tomli"], check=True, env=clean_env(), capture_output=True)
    return target


@pytest.mark.network
@pytest.mark.parametrize("minor", ["3.10", "3.12"])
def test_the_walk_is_iterative_and_linear_on_other_pythons(minor: str, deep: Path, pure_deps: Path) -> None:
    python = pyenv_python(int(minor.split(".")[1]))
    if python is None:
        pytest.skip(f"no Python {minor} under pyenv")
    src = deep
    code = ("import sys, time\nfrom pathlib import Path\nfrom lambdapack.assemble.stage import source_entries\n"
            "t = time.perf_counter()\nes = source_entries(Path(sys.argv[1]))\n"
            "print(len(es), es[-1].arcname.count('/'), round(time.perf_counter() - t, 2))\n")
    repo_src = Path(__file__).resolve().parents[2] / "src"
    env = clean_env({"PYTHONPATH": os.pathsep.join([str(repo_src), str(pure_deps)])})
    p = subprocess.run([str(python), "-c", code, str(src)], capture_output=True, text=True, env=env, timeout=120,
                       check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    n, depth, took = p.stdout.split()
    print(f"1,500-level walk on Python {minor}: {took} s")
    assert (int(n), int(depth)) == (2, 1500)
    assert float(took) < 10


def test_a_path_longer_than_path_max_is_a_clear_error(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX PATH_MAX")
    src = write_handler(tmp_path / "src")
    fd = os.open(src, os.O_RDONLY)
    try:
        for _ in range(30):
            os.mkdir("n" * 200, dir_fd=fd)
            new = os.open("n" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
    finally:
        os.close(fd)
    out = tmp_path / "fn.zip"
    r, _data = _build(src, out)
    assert r.returncode == 2, r.explain()
    err, hint = _error_lines(r.stderr)
    assert err.startswith(f"error: source path {str(src)[:60]}") and err.endswith("is longer than this system allows")
    assert "characters)" in err and len(err) < 400  # shortened, with its length
    assert hint.startswith("hint: ")
    assert not out.exists()


# --- secrets by content in `check` ----------------------------------------------------


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            zf.writestr(info, text)
    return path


HANDLER = "def lambda_handler(event, context):\n    return 1\n"


def test_check_finds_secrets_by_content_with_file_and_line(tmp_path: Path) -> None:
    z = _zip(tmp_path / "fn.zip", {
        "lambda_function.py": HANDLER,
        "config.py": f"import os\n\nREGION = 'eu-west-1'\nACCESS_KEY = '{AKID}'\n",
        ".env": f"DEBUG=1\nGITHUB_TOKEN={GHP}\n",
        "settings.ini": "[db]\nhost = localhost\npassword = Zx81mQp0vL3r\n",
        "docs.md": "Use AKIAIOSFODNN7EXAMPLE with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.\n",
    })
    r = run_lp(["check", str(z), *TARGET, "--format", "json"])
    assert r.returncode == 1, r.explain()
    lp402 = {f["path"]: f for f in r.json["findings"] if f["code"] == "LP402"}
    assert sorted(lp402) == [".env", "config.py", "settings.ini"], r.json["findings"]
    assert {f["severity"] for f in lp402.values()} == {"error"}
    assert lp402["config.py"]["message"].startswith("AWS access key id at line 4 (AKIA…PL12)")
    assert "GitHub token at line 2 (ghp_…2Eu7)" in lp402[".env"]["message"]
    assert lp402["settings.ini"]["message"].startswith("password value at line 3")
    text = run_lp(["check", str(z), *TARGET])
    assert text.returncode == 1
    for value in (AKID, GHP, "Zx81mQp0vL3r"):
        assert value not in r.stdout + r.stderr + text.stdout + text.stderr


def test_secret_in_a_published_package_file_is_a_warning(tmp_path: Path) -> None:
    """A wheel's files are public already: a key there is an example or not the user's."""
    record = "vendorlib/__init__.py,,\nvendorlib/fixtures.py,,\nvendorlib-1.0.dist-info/RECORD,,\n"
    z = _zip(tmp_path / "fn.zip", {
        "lambda_function.py": HANDLER,
        "vendorlib/__init__.py": "",
        "vendorlib/fixtures.py": f"KEY = '{AKID}'\n",
        "vendorlib-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: vendorlib\nVersion: 1.0\n",
        "vendorlib-1.0.dist-info/RECORD": record,
    })
    r = run_lp(["check", str(z), *TARGET, "--format", "json"])
    assert r.returncode == 0, r.explain()
    (f,) = [f for f in r.json["findings"] if f["code"] == "LP402"]
    assert (f["path"], f["severity"], f["distribution"]) == ("vendorlib/fixtures.py", "warning", "vendorlib 1.0")


@pytest.mark.network
def test_popular_packages_have_no_secret_findings(tmp_path: Path) -> None:
    """botocore's data and docs hold AWS's example keys; certifi ships a CA bundle (.pem)."""
    req = tmp_path / "requirements.txt"
    req.write_text("boto3\nbotocore\nrequests\npydantic\nnumpy\npandas\ncryptography\ncertifi\n", encoding="utf-8")
    out = tmp_path / "layer.zip"
    r = run_lp(["build", "--layer", "-r", str(req), *TARGET, "-o", str(out), "--format", "json"], cwd=tmp_path,
               timeout=600)
    assert r.returncode == 0, r.explain()
    assert [f for f in r.json["findings"] if f["code"] == "LP402"] == []
    t = time.perf_counter()
    c = run_lp(["check", "--layer", str(out), *TARGET, "--format", "json"])
    print(f"check of {sum(o['files'] for o in r.json['outputs'])} files: {time.perf_counter() - t:.2f} s")
    assert c.returncode == 0, c.explain()
    assert [f for f in c.json["findings"] if f["code"] == "LP402"] == []
