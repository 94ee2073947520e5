"""Index pages cut to a glibc ceiling (pure): PEP 503 HTML and PEP 691 JSON pages with the
files `ceiling.keeps` rejects removed, and the credentials of index URLs kept out of text.

File URLs are made absolute to the upstream, so uv downloads from the upstream itself and
checks every hash there. Only the install behind the loopback index needs this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

from lambdapack.resolve.ceiling import Ceiling, keeps

__all__ = ["Anchor", "filter_html", "filter_json", "parse_anchors", "redact", "split_credentials", "userinfo_secrets"]


def _filename_of(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


@dataclass(frozen=True)
class Anchor:
    """One `<a>` of a PEP 503 page: its attributes in order (href made absolute) and its text."""

    attrs: tuple[tuple[str, str | None], ...]
    text: str

    def render(self) -> str:
        parts = [k if v is None else f'{k}="{escape(v, quote=True)}"' for k, v in self.attrs]
        return f"<a {' '.join(parts)}>{escape(self.text, quote=False)}</a>"


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[list[tuple[str, str | None]], list[str]]] = []
        self.base: str | None = None
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self.anchors.append((attrs, []))
            self._open = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open and self.anchors:
            self.anchors[-1][1].append(data)


def parse_anchors(page: str, page_url: str) -> list[Anchor]:
    """The links of a PEP 503 (or find-links) page, hrefs absolute to `page_url` or its <base>."""
    parser = _Anchors()
    parser.feed(page)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    out = []
    for attrs, text in parser.anchors:
        fixed = [(k, urljoin(base, v) if k == "href" and v is not None else v) for k, v in attrs]
        out.append(Anchor(tuple(fixed), "".join(text).strip()))
    return out


def filter_html(page: str, page_url: str, ceiling: Ceiling) -> str:
    """A PEP 503 page with the wheels above the ceiling removed; every other attribute
    (hash fragment, data-requires-python, data-dist-info-metadata/data-core-metadata,
    data-yanked) kept, hrefs absolute so downloads and PEP 658 metadata go upstream."""
    kept = []
    for a in parse_anchors(page, page_url):
        href = dict(a.attrs).get("href")
        if href is None:
            continue
        # The link text should be the file name; whichever of it and the URL uv reads, both must fit.
        if keeps(a.text, ceiling) and keeps(_filename_of(href), ceiling):
            kept.append(a.render())
    body = "<br/>\n".join(kept)
    meta = '<meta name="pypi:repository-version" content="1.0">'
    return f"<!DOCTYPE html>\n<html><head>{meta}</head><body>\n{body}\n</body></html>\n"


def filter_json(page: str, page_url: str, ceiling: Ceiling) -> str:
    """A PEP 691 page filtered the same way; `versions` and all other keys stay as they are."""
    data = json.loads(page)
    files = []
    for f in data.get("files", []):
        url = urljoin(page_url, str(f.get("url", "")))
        if keeps(str(f.get("filename", "")), ceiling) and keeps(_filename_of(url), ceiling):
            files.append({**f, "url": url})
    return json.dumps({**data, "files": files}, separators=(",", ":"))


def split_credentials(url: str) -> tuple[str, str | None]:
    """(the URL without user:password, the `user:password` part or None)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    userinfo = parts.netloc.rsplit("@", 1)[0]
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(
        userinfo
    )


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its URL-quoted form) replaced by `***`."""
    for s in sorted({x for x in secrets if x}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def userinfo_secrets(urls: Sequence[str]) -> list[str]:
    """The credential parts of URLs, raw and as written, for `redact`."""
    out: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        if parts.password:
            out += [parts.password, unquote(parts.password)]
        if "@" in parts.netloc:
            out.append(parts.netloc.rsplit("@", 1)[0])
    return out
