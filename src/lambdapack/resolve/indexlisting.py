"""The files a project has on the locations a build used, for the held-back report.

uv's order (its default `first-index` strategy): the indexes in priority order (`UV_INDEX`
entries and each `--extra-index-url` in the order given, then `--index-url`, PyPI by
default), the first one that has the project wins; the `--find-links` locations add their
files to whichever index won. Pages are PEP 691 JSON or PEP 503 HTML (parsed by
`indexpages.parse_anchors`, the loopback index's parser); credentials in a URL go out as
HTTP basic auth and into no text. Deciding is pure (`parse_page`, `search_order`,
`project_of`); `read_location` (and `localpaths.local_directory`) are the I/O edge.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from lambdapack.resolve.indexpages import parse_anchors, redact, split_credentials, userinfo_secrets
from lambdapack.resolve.install import Locations
from lambdapack.resolve.localpaths import local_directory

__all__ = [
    "IndexFile",
    "Listing",
    "parse_page",
    "project_of",
    "read_location",
    "search_order",
]

log = logging.getLogger(__name__)
_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")
# uv's strategies that look at every index, not only the first that has the project.
_ALL_INDEXES = ("unsafe-first-match", "unsafe-best-match")


@dataclass(frozen=True)
class IndexFile:
    """One file of a project page: its name and what the page says about it."""

    filename: str
    requires_python: str | None = None
    yanked: bool = False
    # Where to download it and its sha256 when the page says (native builds fetch sdists); not
    # part of equality: the same file listed by two pages is one file.
    url: str | None = field(default=None, compare=False)
    sha256: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Listing:
    """Where to look, in uv's order: `indexes` (project pages below each) and `flat` (the
    files of every find-links location, read once per build)."""

    indexes: tuple[str, ...]
    flat: tuple[IndexFile, ...] = ()
    every_index: bool = False  # UV_INDEX_STRATEGY=unsafe-*: uv merges all indexes


def search_order(locs: Locations, environ: Mapping[str, str]) -> tuple[tuple[str, ...], bool]:
    """The indexes in uv's priority order (extra indexes before the default one, as uv ranks
    them), and whether uv looks at all of them (pure)."""
    ordered = tuple(dict.fromkeys((*locs.extra, locs.index)))
    strategy = environ.get("UV_INDEX_STRATEGY", "first-index").strip().lower()
    return ordered, strategy in _ALL_INDEXES


def project_of(filename: str) -> tuple[NormalizedName, Version] | None:
    """(project, version) of a wheel or sdist file name; None for anything else (pure)."""
    try:
        if filename.endswith(".whl"):
            name, version, _b, _t = parse_wheel_filename(filename)
            return name, version
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _json_sha256(f: dict[str, object]) -> str | None:
    hashes = f.get("hashes")
    value = hashes.get("sha256") if isinstance(hashes, dict) else None
    return str(value) if value else None


def parse_page(body: bytes, content_type: str, page_url: str) -> list[IndexFile]:
    """The files of a PEP 691 JSON or PEP 503 HTML page (or a find-links page of links)."""
    text = body.decode("utf-8", "replace")
    if content_type.split(";")[0].strip().lower() in _JSON_TYPES:
        try:
            data = json.loads(text)
        except ValueError:
            return []
        files = data.get("files", []) if isinstance(data, dict) else []
        return [IndexFile(str(f.get("filename", "")), f.get("requires-python") or None, bool(f.get("yanked")),
                          urljoin(page_url, str(f["url"])) if f.get("url") else None, _json_sha256(f))
                for f in files if isinstance(f, dict)]
    out = []
    for a in parse_anchors(text, page_url):
        attrs = dict(a.attrs)
        href = attrs.get("href")
        if href is None:
            continue
        name = unquote(urlsplit(href).path.rsplit("/", 1)[-1])
        # PEP 503: a data-yanked attribute (with or without a reason) marks the file yanked.
        fragment = urlsplit(href).fragment
        digest = fragment.split("=", 1)[1] if fragment.startswith("sha256=") else None
        out.append(IndexFile(name, attrs.get("data-requires-python") or None, "data-yanked" in attrs,
                             href.split("#", 1)[0], digest))
    return out


def read_location(url: str, timeout: float) -> tuple[int, str, bytes, str]:
    """(status, content type, body, final URL) of one page; the network edge. A local path or
    file:// URL is read from disk (a directory as its index.html, as in a static PEP 503 tree);
    credentials go as basic auth, and errors are logged without them."""
    import urllib.error  # only when versions differ; keeps a no-change rebuild's start-up short

    from lambdapack.resolve.indexhttp import open_index, read_file_page

    plain, userinfo = split_credentials(url if "://" in url else Path(url).resolve().as_uri())
    if urlsplit(plain).scheme == "file":
        try:
            body, ctype, final = read_file_page(plain)
        except OSError:
            return 404, "", b"", plain
        return 200, ctype, body, final
    headers = {"Accept": _ACCEPT, "User-Agent": "lambdapack-held-back"}
    try:
        with open_index(plain, userinfo, headers, timeout) as r:
            return 200, r.headers.get("Content-Type", ""), r.read(), r.geturl()
    except urllib.error.HTTPError as e:
        return e.code, "", b"", plain
    except (urllib.error.URLError, OSError, ValueError) as e:
        log.debug("cannot read %s: %s", plain, redact(str(e), userinfo_secrets([url])))
        return 0, "", b"", plain


def flat_files(locations: Sequence[str], timeout: float) -> tuple[IndexFile, ...]:
    """Every file of the find-links locations: a directory's file names, or a page's links."""
    out: list[IndexFile] = []
    for loc in locations:
        directory = local_directory(loc)
        if directory is not None:
            try:
                out += [IndexFile(p.name, url=p.resolve().as_uri()) for p in sorted(directory.iterdir()) if p.is_file()]
            except OSError as e:
                log.debug("cannot list %s: %s", directory, e)
            continue
        status, ctype, body, final = read_location(loc, timeout)
        if status == 200:
            out += parse_page(body, ctype or "text/html", final)
    return tuple(out)


def project_files(listing: Listing, name: str, timeout: float) -> list[IndexFile] | None:
    """The files of `name` as uv would see them: the first index that has the project (every
    index under an unsafe strategy) plus the find-links files. None: no location could be read."""
    want = canonicalize_name(name)
    found: list[IndexFile] = []
    answered = False
    for index in listing.indexes:
        page = urljoin(index.rstrip("/") + "/", f"{want}/")
        status, ctype, body, final = read_location(page, timeout)
        if status in (404, 410):  # not on this index: uv asks the next one
            answered = True
            continue
        if status != 200:
            log.debug("held back: %s answered %s for %s", split_credentials(index)[0], status, want)
            break
        answered = True
        found += parse_page(body, ctype, final)
        if not listing.every_index:
            break
    flat = [f for f in listing.flat if (p := project_of(f.filename)) is not None and p[0] == want]
    if not answered and not flat:
        return None
    return [f for f in found if (p := project_of(f.filename)) is not None and p[0] == want] + flat
