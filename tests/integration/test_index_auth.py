"""The real uv against a loopback index that refuses every request (401 or 403): the build
fails (exit 2, input) as an authentication failure of that index, not as a missing package, and the
credentials of the index URL appear nowhere in what lambdapack prints. python3.12 runs uv
against the index directly, python3.11 (Amazon Linux 2) through the glibc-ceiling proxy."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import loopback
from lp_helpers import clean_env, run_lp, write_handler

SECRET = "s3cretTOKEN"


class _Refusing(http.server.BaseHTTPRequestHandler):
    status = 401
    seen: list[str | None]

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        self.send_response(self.status)
        if self.status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(params=[401, 403])
def refusing_index(request: pytest.FixtureRequest) -> Iterator[tuple[int, str, list[str | None]]]:
    seen: list[str | None] = []
    handler = type("Handler", (_Refusing,), {"status": request.param, "seen": seen})
    with loopback(handler) as port:
        yield request.param, f"http://alice:{SECRET}@127.0.0.1:{port}/simple/", seen


@pytest.mark.parametrize("runtime", ["python3.12", "python3.11"])
def test_a_refusing_index_is_an_authentication_failure(
    refusing_index: tuple[int, str, list[str | None]], runtime: str, tmp_path: Path
) -> None:
    status, url, seen = refusing_index
    (tmp_path / "requirements.txt").write_text("six\n", encoding="utf-8")
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(write_handler(tmp_path / "src")), "--runtime", runtime, "--arch", "x86_64",
                "-r", str(tmp_path / "requirements.txt"), "-o", str(out), "--no-cache", "--index-url", url],
               env=clean_env(drop=["UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL",
                                   "UV_FIND_LINKS"]), timeout=300)
    assert r.returncode == 2, r.explain()  # input: the user's credentials, as a package that does not exist
    assert seen, "uv never asked the index"
    assert "Traceback" not in r.stderr and not out.exists()
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: authentication failed for the package index at "), \
        r.explain()
    assert str(status) in errors[0] and "does not exist" not in r.stderr
    assert "UV_INDEX_" in r.stderr and "netrc" in r.stderr
    assert SECRET not in r.stdout + r.stderr, r.explain()
