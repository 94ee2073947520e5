"""The loopback index: the I/O edge that serves upstream index pages cut to a glibc ceiling.

For one uv run, a threaded HTTP server on 127.0.0.1 (an ephemeral port) answers uv's Simple
API requests by fetching the same page upstream (PEP 691 JSON or PEP 503 HTML, whichever
uv's Accept header and the upstream give), dropping the wheels above the ceiling
(`resolve/ceiling.py`) and returning it with absolute file URLs: wheels and PEP 658
metadata are downloaded by uv from the upstream itself, never through here. Credentials in
an upstream URL are sent upstream as basic auth and carried into same-host file URLs
(uv hides them in its output; `display` hides them in ours). Local find-links directories
are cut the same way as a directory of symbolic links.
"""

from __future__ import annotations

import logging
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from lambdapack.resolve.ceiling import Ceiling, keeps
from lambdapack.resolve.indexhttp import open_index, read_file_page
from lambdapack.resolve.indexpages import (
    filter_html,
    filter_json,
    redact,
    split_credentials,
    userinfo_secrets,
)

__all__ = ["Proxy", "Upstream", "cut_find_links", "serving"]

log = logging.getLogger(__name__)

_JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")
_HTML_TYPES = ("text/html", "application/vnd.pypi.simple.v1+html")
_DEFAULT_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


@dataclass(frozen=True)
class Upstream:
    """One proxied location: an index (pages below it) or a find-links page (itself)."""

    url: str  # as the user gave it, possibly with user:password
    flat: bool = False  # a find-links page, not an index root

    @property
    def base(self) -> str:
        return self.url if self.flat or self.url.endswith("/") else self.url + "/"


@dataclass
class Proxy:
    """A running loopback index: `urls[i]` stands for `upstreams[i]`."""

    upstreams: tuple[Upstream, ...]
    ceiling: Ceiling
    timeout: float
    port: int = 0
    failures: list[str] = field(default_factory=list)  # upstream errors, credentials hidden

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/{i}/" for i in range(len(self.upstreams))]

    def display(self, text: str) -> str:
        """uv's text with the loopback URLs named as their upstreams, credentials hidden."""
        for url, up in zip(self.urls, self.upstreams, strict=True):
            text = text.replace(url.rstrip("/"), split_credentials(up.base)[0].rstrip("/"))
        return redact(text, userinfo_secrets([u.url for u in self.upstreams]))


def _fetch(proxy: Proxy, up: Upstream, rest: str, accept: str) -> tuple[int, str, bytes]:
    """(status, content type, body) for one page, filtered when it is one."""
    target = up.base + rest if not up.flat else up.base
    plain, userinfo = split_credentials(target)
    if urlsplit(plain).scheme == "file":
        try:
            body, ctype, _final = read_file_page(plain)
        except OSError:
            return 404, "text/plain", b"not found\n"
        return 200, ctype, _cut(body, ctype, plain, proxy.ceiling)
    headers = {"Accept": accept or _DEFAULT_ACCEPT, "User-Agent": "lambdapack-index-proxy"}
    try:
        with open_index(plain, userinfo, headers, proxy.timeout) as r:
            body, ctype, final = r.read(), r.headers.get("Content-Type", ""), r.geturl()
    except urllib.error.HTTPError as e:
        proxy.failures.append(f"{plain}: HTTP {e.code} {e.reason}")
        return e.code, "text/plain", f"upstream answered {e.code}\n".encode()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        proxy.failures.append(proxy.display(f"{plain}: {reason}"))
        return 502, "text/plain", b"upstream unreachable\n"
    # Relative links resolve against the page's final URL; same-host ones keep the credentials.
    if userinfo is not None and urlsplit(final).hostname == urlsplit(plain).hostname:
        scheme, rest_url = final.split("://", 1)
        final = f"{scheme}://{userinfo}@{rest_url}"
    return 200, ctype, _cut(body, ctype, final, proxy.ceiling, flat=up.flat)


def _cut(body: bytes, ctype: str, page_url: str, ceiling: Ceiling, *, flat: bool = False) -> bytes:
    kind = ctype.split(";")[0].strip().lower()
    text = body.decode("utf-8", "replace")
    if kind in _JSON_TYPES:
        return filter_json(text, page_url, ceiling).encode()
    if kind in _HTML_TYPES or flat:
        return filter_html(text, page_url, ceiling).encode()
    return body


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            head, _, rest = self.path.lstrip("/").partition("/")
            if not head.isdigit() or int(head) >= len(proxy.upstreams):
                status, ctype, body = 404, "text/plain", b"not proxied\n"
            else:
                status, ctype, body = _fetch(proxy, proxy.upstreams[int(head)], rest, self.headers.get("Accept", ""))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # never to stderr: only cli/ prints
            log.debug("index proxy: " + format, *args)

    return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # uv dropping a kept-alive connection is no error of the build; socketserver would
        # print a traceback to stderr (only cli/ prints).
        log.debug("index proxy: request from %s failed", client_address, exc_info=True)


@contextmanager
def serving(upstreams: Sequence[Upstream], ceiling: Ceiling, timeout: float) -> Iterator[Proxy]:
    """A loopback index for the `with` block, stopped after it (also on an error or Ctrl-C)."""
    proxy = Proxy(tuple(upstreams), ceiling, timeout)
    server = _Server(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="lambdapack-index-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def cut_find_links(directory: Path, ceiling: Ceiling, dest: Path) -> Path:
    """A local find-links directory as `dest`, holding links to the files that fit the ceiling."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sorted(directory.iterdir()):
        if entry.is_file() and keeps(entry.name, ceiling):
            link = dest / entry.name
            try:
                link.symlink_to(entry.resolve())
            except OSError:  # no symbolic links here (Windows without the privilege): copy
                shutil.copy2(entry, link)
    return dest
