"""One authenticated GET of an index page, for the held-back lookups and the ceiling's proxy.

Credentials in an index URL (https://user:token@host/simple) go as HTTP basic auth, and only
to that host: urllib's redirect handler copies request headers to wherever a redirect points, so
an index that redirects to a CDN or an object store would receive the token. Like pip and uv,
the header follows a redirect within the same origin (scheme, host, port: PyPI-style name
normalisation) and is dropped on any other.
"""

from __future__ import annotations

import base64
import urllib.request
from collections.abc import Mapping
from http.client import HTTPMessage, HTTPResponse
from typing import IO, cast
from urllib.parse import urlsplit

from lambdapack.resolve.localpaths import file_url_path

__all__ = ["open_index", "read_file_page"]


class _SameHostAuth(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: HTTPMessage, newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme)


_OPENER = urllib.request.build_opener(_SameHostAuth)


def open_index(url: str, userinfo: str | None, headers: Mapping[str, str], timeout: float) -> HTTPResponse:
    """urlopen for `url` (no credentials in it) with `userinfo` ("user:token") as basic auth.
    Raises what urllib raises (HTTPError, URLError, OSError)."""
    sent = dict(headers)
    if userinfo is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(userinfo.encode()).decode()
    # http(s) only (callers read file URLs themselves), so the response is an HTTPResponse.
    return cast(HTTPResponse, _OPENER.open(urllib.request.Request(url, headers=sent), timeout=timeout))


def read_file_page(url: str) -> tuple[bytes, str, str]:
    """(body, content type, final URL) of a file:// page; a directory stands for its index.html,
    as in a static PEP 503 tree. Raises OSError."""
    path = file_url_path(url)
    if path.is_dir():
        path = path / "index.html"
    kind = "application/vnd.pypi.simple.v1+json" if path.suffix == ".json" else "text/html"
    return path.read_bytes(), kind, path.as_uri()
