"""The held-back report from the index the build used: real uv, real wheels this test writes,
a real PEP 503 index over HTTP on loopback (with and without basic auth), a find-links
directory; and the notes of a failed build. No PyPI."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from loopback import loopback
from lp_helpers import Run, clean_env, run_lp
from wheels import write_wheel

USER, SECRET = "ci", "h3ld-T0ken-zz"
AL2023_NOTE = "demo 2.0 ships only manylinux_2_35 wheels; python3.12 (Amazon Linux 2023) has glibc 2.34"
TWO = {"demo": {"1.0": "manylinux_2_17_x86_64", "2.0": "manylinux_2_35_x86_64"}}


def write_index(root: Path, projects: dict[str, dict[str, str]],
                requires: dict[tuple[str, str], tuple[str, ...]] | None = None) -> Path:
    """A static PEP 503 tree (/simple/<name>/index.html, relative links into /files/)."""
    files = root / "files"
    files.mkdir(parents=True)
    (root / "simple").mkdir()
    for name, versions in projects.items():
        links = []
        for version, plat in versions.items():
            whl = write_wheel(files, name, version, f"py3-none-{plat}", requires=(requires or {}).get((name, version), ()))
            sha = hashlib.sha256(whl.read_bytes()).hexdigest()
            links.append(f'<a href="../../files/{whl.name}#sha256={sha}">{whl.name}</a><br/>')
        (root / "simple" / name).mkdir()
        (root / "simple" / name / "index.html").write_text("<html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    return files


@dataclass
class Served:
    url: str
    agents: list[tuple[str, str, bool]] = field(default_factory=list)  # path, User-Agent, authorised


@contextlib.contextmanager
def index_server(root: Path, *, auth: bool = False) -> Iterator[Served]:
    """http.server on 127.0.0.1 serving `root`; with `auth`, 401 without the right basic auth."""
    served = Served("")
    good = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def do_GET(self) -> None:
            ok = self.headers.get("Authorization") == good
            served.agents.append((self.path, self.headers.get("User-Agent", ""), ok))
            if auth and not ok:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    creds = f"{USER}:{SECRET}@" if auth else ""
    with loopback(Handler) as port:
        served.url = f"http://{creds}127.0.0.1:{port}"
        yield served


def build(tmp: Path, *extra: str, runtime: str = "python3.12", reqs: str = "demo\n", src: Path | None = None) -> Run:
    (tmp / "requirements.txt").write_text(reqs)
    kind = [str(src)] if src is not None else ["--layer"]
    out = tmp / "out.zip"
    return run_lp(["build", *kind, "--runtime", runtime, "--arch", "x86_64", "-r", str(tmp / "requirements.txt"),
                   "--no-cache", "-o", str(out), *extra], cwd=tmp,
                  env=clean_env({"UV_CACHE_DIR": str(tmp / "uv-cache")}), timeout=240)


def held(r: Run) -> dict[str, dict[str, Any]]:
    return {h["name"]: h for h in r.json["held_back"]}


def test_al2023_newest_with_only_manylinux_2_35_wheels_is_held_back_by_its_glibc(tmp_path: Path) -> None:
    write_index(tmp_path / "index", TWO)
    with index_server(tmp_path / "index") as served:
        r = build(tmp_path, "--index-url", f"{served.url}/simple", "--no-compile", "--format", "json")
    assert r.returncode == 0, r.explain()
    assert [(d["name"], d["version"]) for d in r.json["distributions"]] == [("demo", "1.0")]
    assert r.json["held_back"] == [
        {"name": "demo", "chosen": "1.0", "newest": "2.0", "reason": AL2023_NOTE, "fits": None}]
    # The note was read from this index, not PyPI.
    assert any(a == "lambdapack-held-back" and p == "/simple/demo/" for p, a, _ok in served.agents)


def test_credentials_in_the_index_url_go_as_basic_auth_and_are_never_shown(tmp_path: Path) -> None:
    write_index(tmp_path / "index", TWO)
    with index_server(tmp_path / "index", auth=True) as served:
        r = build(tmp_path, "--index-url", f"{served.url}/simple", "--no-compile", "--format", "json")
        text = build(tmp_path, "--index-url", f"{served.url}/simple", "--no-compile")
    assert r.returncode == 0, r.explain()
    assert held(r)["demo"]["reason"] == AL2023_NOTE
    ours = [ok for _p, a, ok in served.agents if a == "lambdapack-held-back"]
    assert ours and all(ours)
    assert text.returncode == 0, text.explain()
    assert f"demo: 1.0 chosen, 2.0 newest; {AL2023_NOTE}" in text.stdout
    for run in (r, text):
        assert SECRET not in run.stdout + run.stderr


def test_find_links_directory(tmp_path: Path) -> None:
    files = write_index(tmp_path / "index", TWO)
    (tmp_path / "empty" / "simple").mkdir(parents=True)
    with index_server(tmp_path / "empty") as nothing:
        r = build(tmp_path, "--index-url", f"{nothing.url}/simple", "--find-links", str(files),
                  "--no-compile", "--format", "json")
    assert r.returncode == 0, r.explain()
    assert r.json["held_back"] == [
        {"name": "demo", "chosen": "1.0", "newest": "2.0", "reason": AL2023_NOTE, "fits": None}]


THREE = {"demo": {"1.0": "manylinux_2_17_x86_64", "2.0": "manylinux_2_17_x86_64", "3.0": "manylinux_2_35_x86_64"},
         "other": {"1.0": "any", "2.0": "any"}}
# `other` 2.0 needs demo 3.0 (no wheel for glibc 2.34), so the target takes other 1.0, which keeps demo below 2.
THREE_REQUIRES = {("other", "1.0"): ("demo<2",), ("other", "2.0"): ("demo>=3",)}


def test_names_the_newest_version_that_fits_when_a_requirement_keeps_an_older_one(tmp_path: Path) -> None:
    write_index(tmp_path / "index", THREE, THREE_REQUIRES)
    with index_server(tmp_path / "index") as served:
        r = build(tmp_path, "--index-url", f"{served.url}/simple", "--no-compile", "--format", "json",
                  reqs="demo\nother\n")
    assert r.returncode == 0, r.explain()
    assert {d["name"]: d["version"] for d in r.json["distributions"]} == {"demo": "1.0", "other": "1.0"}
    demo = held(r)["demo"]
    assert (demo["chosen"], demo["newest"], demo["fits"]) == ("1.0", "3.0", "2.0")
    assert demo["reason"] == ("demo 3.0 ships only manylinux_2_35 wheels; python3.12 (Amazon Linux 2023) has "
                              "glibc 2.34; 2.0 would fit, but a requirement keeps demo at 1.0")
    assert held(r)["other"]["fits"] == "2.0"  # its newest has a wheel: only demo's glibc keeps it back


def test_a_failed_verification_still_reports_its_held_back_notes(tmp_path: Path) -> None:
    write_index(tmp_path / "index", TWO)
    src = tmp_path / "src"
    src.mkdir()
    (src / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n" + "b3BlbnNzaC1rZXktdjEAAAAA" * 4 + "\n")
    with index_server(tmp_path / "index") as served:
        r = build(tmp_path, "--index-url", f"{served.url}/simple", "--no-compile", "--format", "json", src=src)
        text = build(tmp_path, "--index-url", f"{served.url}/simple", "--no-compile", src=src)
    assert r.returncode == 1, r.explain()
    assert r.json["ok"] is False and r.json["error"]["exit_code"] == 1
    assert any(f["severity"] == "error" for f in r.json["findings"]), r.json["findings"]
    assert r.json["held_back"] == [
        {"name": "demo", "chosen": "1.0", "newest": "2.0", "reason": AL2023_NOTE, "fits": None}]
    assert text.returncode == 1
    assert f"demo: 1.0 chosen, 2.0 newest; {AL2023_NOTE}" in text.stdout
    assert "verification failed" in text.stderr and "Traceback" not in text.stdout + text.stderr


def test_an_error_after_the_install_keeps_its_exit_code_and_the_notes(tmp_path: Path) -> None:
    from lambdapack.host.interpreters import find_interpreter

    if find_interpreter((3, 15), environ=clean_env()) is not None:
        pytest.skip("a Python 3.15 is installed here: --compile would not fail")
    write_index(tmp_path / "index", {"demo": {"1.0": "manylinux_2_17_x86_64", "2.0": "manylinux_2_35_x86_64"}})
    with index_server(tmp_path / "index") as served:
        r = build(tmp_path, "--index-url", f"{served.url}/simple", "--compile", "--format", "json",
                  runtime="python3.15")
    assert r.returncode == 2, r.explain()  # "--compile needs one": bad usage, as before
    assert r.json["ok"] is False and r.json["error"]["exit_code"] == 2
    assert "--compile needs one" in r.json["error"]["message"]
    assert [h["name"] for h in r.json["held_back"]] == ["demo"]
    assert "python3.15 (Amazon Linux 2023) has glibc 2.34" in r.json["held_back"][0]["reason"]


def test_the_note_comes_from_the_index_uv_took_the_project_from(tmp_path: Path) -> None:
    # uv ranks --extra-index-url above --index-url and takes a project from the first index
    # that has it: here the extra one, whose newest (2.0) needs glibc 2.35. The primary's 3.0
    # would fit, but uv never sees it, so a note read from the primary would be wrong.
    write_index(tmp_path / "primary", {"demo": {"1.0": "manylinux_2_17_x86_64", "3.0": "manylinux_2_17_x86_64"}})
    write_index(tmp_path / "extra", TWO)
    with index_server(tmp_path / "primary") as primary, index_server(tmp_path / "extra") as extra:
        r = build(tmp_path, "--index-url", f"{primary.url}/simple", "--extra-index-url", f"{extra.url}/simple",
                  "--no-compile", "--format", "json")
    assert r.returncode == 0, r.explain()
    assert [(d["name"], d["version"]) for d in r.json["distributions"]] == [("demo", "1.0")]
    assert r.json["held_back"] == [
        {"name": "demo", "chosen": "1.0", "newest": "2.0", "reason": AL2023_NOTE, "fits": None}]
    assert not any(a == "lambdapack-held-back" for _p, a, _ok in primary.agents)


@contextlib.contextmanager
def json_index(root: Path) -> Iterator[Served]:
    """A PEP 691 JSON index on loopback (as PyPI answers a JSON Accept header), from `root`'s files."""
    served = Served("")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def do_GET(self) -> None:
            served.agents.append((self.path, self.headers.get("User-Agent", ""), True))
            parts = self.path.strip("/").split("/")
            if len(parts) != 2 or parts[0] != "simple" or "json" not in self.headers.get("Accept", ""):
                super().do_GET()  # the wheels themselves
                return
            whls = sorted((root / "files").glob(f"{parts[1]}-*.whl"))
            body = json.dumps({"meta": {"api-version": "1.0"}, "name": parts[1], "files": [
                {"filename": w.name, "url": f"../../files/{w.name}",
                 "hashes": {"sha256": hashlib.sha256(w.read_bytes()).hexdigest()}} for w in whls]}).encode()
            self.send_response(200 if whls else 404)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback(Handler) as port:
        served.url = f"http://127.0.0.1:{port}"
        yield served


def test_pep_691_json_index_and_a_find_links_page(tmp_path: Path) -> None:
    files = write_index(tmp_path / "index", TWO)
    with json_index(tmp_path / "index") as served:
        r = build(tmp_path, "--index-url", f"{served.url}/simple", "--no-compile", "--format", "json")
    assert r.returncode == 0, r.explain()
    assert held(r)["demo"]["reason"] == AL2023_NOTE
    links = "".join(f'<a href="files/{p.name}">{p.name}</a>\n' for p in sorted(files.iterdir()))
    (tmp_path / "index" / "links.html").write_text(f"<html><body>{links}</body></html>")
    (tmp_path / "empty" / "simple").mkdir(parents=True)
    with index_server(tmp_path / "index") as pages, index_server(tmp_path / "empty") as nothing:
        r = build(tmp_path, "--index-url", f"{nothing.url}/simple", "--find-links", f"{pages.url}/links.html",
                  "--no-compile", "--format", "json")
    assert r.returncode == 0, r.explain()
    assert held(r)["demo"]["reason"] == AL2023_NOTE
