"""Credentials of an index URL go to that index only, never to where it redirects (real
loopback servers, real urllib)."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from loopback import loopback

from lambdapack.resolve.indexhttp import open_index

SEEN: list[tuple[int, str, str | None]] = []  # (port, path, Authorization header)


class _Handler(BaseHTTPRequestHandler):
    other_port = 0

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        SEEN.append((port, self.path, self.headers.get("Authorization")))
        if self.path == "/simple/Demo/":
            self._redirect("/simple/demo/")
        elif self.path == "/away/":
            self._redirect(f"http://127.0.0.1:{_Handler.other_port}/files/")
        else:
            body = b"<html><body>ok</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _redirect(self, where: str) -> None:
        self.send_response(301)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def servers() -> Iterator[tuple[int, int]]:
    SEEN.clear()
    with loopback(_Handler) as a, loopback(_Handler) as b:
        _Handler.other_port = b
        yield a, b


def test_same_origin_redirect_keeps_the_credentials(servers: tuple[int, int]) -> None:
    a, _b = servers
    with open_index(f"http://127.0.0.1:{a}/simple/Demo/", "user:s3cret", {}, 5) as r:
        assert r.read() == b"<html><body>ok</body></html>"
        assert r.geturl().endswith("/simple/demo/")
    auths = [h for _p, _path, h in SEEN]
    assert len(auths) == 2 and auths[0] == auths[1] and auths[0] is not None and auths[0].startswith("Basic ")


def test_redirect_to_another_origin_drops_the_credentials(servers: tuple[int, int]) -> None:
    a, b = servers
    with open_index(f"http://127.0.0.1:{a}/away/", "user:s3cret", {"Accept": "text/html"}, 5) as r:
        r.read()
    assert [(p, path) for p, path, _h in SEEN] == [(a, "/away/"), (b, "/files/")]
    assert SEEN[0][2] is not None and SEEN[1][2] is None


def test_no_credentials_no_header(servers: tuple[int, int]) -> None:
    a, _b = servers
    with open_index(f"http://127.0.0.1:{a}/simple/demo/", None, {}, 5) as r:
        r.read()
    assert [(a, "/simple/demo/", None)] == SEEN
