"""The exact glibc ceiling on Amazon Linux 2: real uv, real wheels, a real index over HTTP.

The offline tests serve wheels this test writes (valid wheels, tagged for the case) from a
private-index-like server on loopback that demands basic auth; the network tests resolve
pandas from PyPI and compare with what pip downloads for glibc 2.26.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from loopback import loopback
from lp_helpers import clean_env, extract_elf_members, glibc_needs, require_readelf, run_lp
from wheels import write_wheel

USER, SECRET = "aws", "s3cr3t-T0ken"
_TAGS = {
    "2.1": "py3-none-musllinux_1_2_x86_64",  # musl: never on Lambda
    "2.0": "py3-none-manylinux_2_28_x86_64",  # above Amazon Linux 2's glibc 2.26
    "1.5": "py3-none-manylinux_2_24_x86_64",  # fits 2.26, but uv's 2_17 target never took it
    "1.0": "py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64",
}
_PROXY_UA = "lambdapack-index-proxy"
_LOOPBACK_INDEX = re.compile(r"127\.0\.0\.1:\d+/\d+/")  # a page of the proxy, never to be shown


def write_index(root: Path, name: str = "demo") -> Path:
    """A static PEP 503 tree: /simple/demo/index.html with relative links into /files/."""
    files = root / "files"
    files.mkdir(parents=True)
    links = []
    for version, tag in _TAGS.items():
        whl = write_wheel(files, name, version, tag)
        sha = hashlib.sha256(whl.read_bytes()).hexdigest()
        links.append(f'<a href="../../files/{whl.name}#sha256={sha}">{whl.name}</a><br/>')
    page = root / "simple" / name
    page.mkdir(parents=True)
    (page / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    return files


@dataclass
class Served:
    url: str  # with credentials
    paths: list[str] = field(default_factory=list)
    agents: dict[str, str] = field(default_factory=dict)  # path -> User-Agent


@contextlib.contextmanager
def private_index(root: Path) -> Iterator[Served]:
    """http.server on loopback serving `root`, answering 401 without the right basic auth."""
    served = Served("")
    good = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != good:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            served.paths.append(self.path)
            served.agents[self.path] = self.headers.get("User-Agent", "")
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback(Handler) as port:
        served.url = f"http://{USER}:{SECRET}@127.0.0.1:{port}"
        yield served


def _build(tmp: Path, runtime: str, *extra: str, env: dict[str, str] | None = None) -> tuple[Any, Path]:
    if not (tmp / "requirements.txt").exists():
        (tmp / "requirements.txt").write_text("demo\n")
    reqs = [] if "-r" in extra else ["-r", str(tmp / "requirements.txt")]
    out = tmp / f"layer-{runtime}.zip"
    r = run_lp(["build", "--layer", "--runtime", runtime, "--arch", "x86_64", *reqs,
                "--no-compile", "--no-held-back", "--no-cache", "-o", str(out), "--format", "json", *extra],
               cwd=tmp, env=env or clean_env({"UV_CACHE_DIR": str(tmp / "uv-cache")}), timeout=240)
    assert not _LOOPBACK_INDEX.search(r.stdout + r.stderr), r.stdout + r.stderr
    return r, out


def _installed(out: Path) -> str:
    with zipfile.ZipFile(out) as zf:
        return zf.read("python/demo/__init__.py").decode()


def test_private_index_with_credentials_gets_the_newest_wheel_within_glibc_2_26(tmp_path: Path) -> None:
    write_index(tmp_path / "index")
    with private_index(tmp_path / "index") as served:
        r, out = _build(tmp_path, "python3.11", "--index-url", f"{served.url}/simple")
    assert r.returncode == 0, r.explain()
    # 2.0 needs glibc 2.28, 0.9 is musl; 1.5 (manylinux_2_24) is the newest that runs on Lambda.
    assert _installed(out) == 'VERSION = "1.5"\n'
    assert [d["version"] for d in r.json["distributions"]] == ["1.5"]
    # The report says what uv resolved for: its next target above the ceiling, pages cut to 2.26.
    assert (r.json["target"]["uv_platform"], r.json["target"]["glibc_ceiling"]) == ("x86_64-manylinux_2_28", "2.26")
    # The page came through the proxy; the wheel from the upstream itself, to uv, with the credentials.
    assert served.agents["/simple/demo/"] == _PROXY_UA
    wheel = "/files/demo-1.5-py3-none-manylinux_2_24_x86_64.whl"
    assert wheel in served.paths and served.agents[wheel].startswith("uv/")
    assert SECRET not in r.stdout + r.stderr


def test_hashes_pinned_like_a_lock_export_are_checked_through_the_proxy(tmp_path: Path) -> None:
    files = write_index(tmp_path / "index")
    good = hashlib.sha256((files / "demo-1.5-py3-none-manylinux_2_24_x86_64.whl").read_bytes()).hexdigest()
    with private_index(tmp_path / "index") as served:
        (tmp_path / "pinned.txt").write_text(f"demo==1.5 --hash=sha256:{good}\n")
        r, out = _build(tmp_path, "python3.11", "--index-url", f"{served.url}/simple", "-r", str(tmp_path / "pinned.txt"))
        assert r.returncode == 0, r.explain()
        assert _installed(out) == 'VERSION = "1.5"\n'
        (tmp_path / "pinned.txt").write_text(f"demo==1.5 --hash=sha256:{'0' * 64}\n")
        r, _out = _build(tmp_path, "python3.11", "--index-url", f"{served.url}/simple", "-r", str(tmp_path / "pinned.txt"))
    assert r.returncode != 0  # a wrong hash still fails: the proxy does not weaken hash checking
    assert "Traceback" not in r.stdout + r.stderr and SECRET not in r.stdout + r.stderr


def test_al2023_keeps_uv_s_own_target_without_a_proxy(tmp_path: Path) -> None:
    write_index(tmp_path / "index")
    with private_index(tmp_path / "index") as served:
        r, out = _build(tmp_path, "python3.12", "--index-url", f"{served.url}/simple")
    assert r.returncode == 0, r.explain()
    assert _installed(out) == 'VERSION = "2.0"\n'  # glibc 2.34 takes the manylinux_2_28 wheel
    assert (r.json["target"]["uv_platform"], r.json["target"]["glibc_ceiling"]) == ("x86_64-manylinux_2_34", None)
    assert served.agents and all(a.startswith("uv/") for a in served.agents.values())  # uv asked directly
    assert SECRET not in r.stdout + r.stderr


def test_extra_index_and_local_find_links_are_cut_too(tmp_path: Path) -> None:
    files = write_index(tmp_path / "index")
    empty = tmp_path / "empty"
    (empty / "simple").mkdir(parents=True)
    with private_index(tmp_path / "index") as served, private_index(empty) as nothing:
        r, out = _build(tmp_path, "python3.11", "--index-url", f"{nothing.url}/simple",
                        "--extra-index-url", f"{served.url}/simple")
        assert r.returncode == 0, r.explain()
        assert _installed(out) == 'VERSION = "1.5"\n'
        r, out = _build(tmp_path, "python3.11", "--index-url", f"{nothing.url}/simple", "--find-links", str(files))
    assert r.returncode == 0, r.explain()
    assert _installed(out) == 'VERSION = "1.5"\n'
    assert SECRET not in r.stdout + r.stderr


def test_find_links_page_over_http(tmp_path: Path) -> None:
    files = write_index(tmp_path / "index")
    links = "".join(f'<a href="files/{p.name}">{p.name}</a>\n' for p in sorted(files.iterdir()))
    (tmp_path / "index" / "links.html").write_text(f"<html><body>{links}</body></html>")
    empty = tmp_path / "empty"
    (empty / "simple").mkdir(parents=True)
    with private_index(tmp_path / "index") as served, private_index(empty) as nothing:
        r, out = _build(tmp_path, "python3.11", "--index-url", f"{nothing.url}/simple",
                        "--find-links", f"{served.url}/links.html")
    assert r.returncode == 0, r.explain()
    assert _installed(out) == 'VERSION = "1.5"\n'
    assert SECRET not in r.stdout + r.stderr


def test_wrong_credentials_are_a_clear_error_that_shows_no_secret(tmp_path: Path) -> None:
    write_index(tmp_path / "index")
    with private_index(tmp_path / "index") as served:
        wrong = served.url.replace(SECRET, "wr0ng-Passw0rd")
        r, _out = _build(tmp_path, "python3.11", "--index-url", f"{wrong}/simple")
    text = r.stdout + r.stderr
    assert r.returncode not in (0, 1), text  # a documented error, not a crash
    assert "Traceback" not in text
    assert "wr0ng-Passw0rd" not in text and SECRET not in text
    assert r.json["error"]["exit_code"] == r.returncode
    assert not _LOOPBACK_INDEX.search(text), text  # the upstream is named, never the proxy


# --- against PyPI --------------------------------------------------------------------------------

_PANDAS_WHEEL = re.compile(r"^pandas-([^-]+)-")


@pytest.mark.network
def test_pandas_on_python3_11_is_the_newest_that_fits_glibc_2_26(tmp_path: Path) -> None:
    # What pip downloads when told every platform Amazon Linux 2 accepts (from 2.26 down).
    plats = [f"manylinux_2_{n}_x86_64" for n in range(26, 16, -1)] + ["manylinux2014_x86_64"]
    pip_dir = tmp_path / "pip"
    env = clean_env({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    # pip trusts its own CA bundle, not the one the machine names (as uv and lambdapack do).
    cert = ["--cert", env["SSL_CERT_FILE"]] if env.get("SSL_CERT_FILE") else []
    subprocess.run([sys.executable, "-m", "pip", "download", "--isolated", *cert, "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.11", "--index-url", "https://pypi.org/simple",
                    *(f"--platform={p}" for p in plats), "-d", str(pip_dir), "pandas"],
                   env=env, check=True, capture_output=True, timeout=300)
    (wheel,) = [p.name for p in pip_dir.glob("pandas-*.whl")]
    m = _PANDAS_WHEEL.match(wheel)
    assert m is not None
    expected = m.group(1)

    (tmp_path / "requirements.txt").write_text("pandas\n")
    out = tmp_path / "layer.zip"
    r = run_lp(["build", "--layer", "--runtime", "python3.11", "--arch", "x86_64", "-r",
                str(tmp_path / "requirements.txt"), "--no-cache", "-o", str(out), "--format", "json"],
               cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.explain()
    report = r.json
    versions = {d["name"]: d["version"] for d in report["distributions"]}
    assert versions["pandas"] == expected, (versions, wheel)
    assert not [f for f in report["findings"] if f.get("code") == "LP003"]
    # Independently of lambdapack's ELF reader: no binary in the layer needs more than glibc 2.26.
    readelf = require_readelf()
    needs = set()
    for path in extract_elf_members(out, tmp_path / "elf").values():
        needs |= glibc_needs(path, readelf)
    assert needs and max(needs) <= (2, 26), max(needs)
