"""Index pages read for native builds (indexlisting.parse_page): each file's download URL,
absolute, and its sha256, from PEP 691 JSON and PEP 503 HTML pages."""

from __future__ import annotations

import json

from lambdapack.resolve.indexlisting import IndexFile, parse_page

PAGE = "https://files.example.org/simple/demo/"
DIGEST = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"


def test_json_page_gives_absolute_urls_and_sha256() -> None:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": [
        {"filename": "demo-1.0.tar.gz", "url": "../../packages/ab/cd/demo-1.0.tar.gz",
         "hashes": {"sha256": DIGEST, "md5": "00"}, "requires-python": ">=3.9"},
        {"filename": "demo-1.0-py3-none-any.whl", "url": "https://cdn.example.net/demo-1.0-py3-none-any.whl",
         "hashes": {}, "yanked": "broken"},
        {"filename": "demo-0.9.zip", "hashes": {"md5": "00"}},
    ]}).encode()
    files = parse_page(body, "application/vnd.pypi.simple.v1+json; charset=utf-8", PAGE)
    assert [(f.filename, f.url, f.sha256, f.requires_python, f.yanked) for f in files] == [
        ("demo-1.0.tar.gz", "https://files.example.org/packages/ab/cd/demo-1.0.tar.gz", DIGEST, ">=3.9", False),
        ("demo-1.0-py3-none-any.whl", "https://cdn.example.net/demo-1.0-py3-none-any.whl", None, None, True),
        ("demo-0.9.zip", None, None, None, False),
    ]


def test_html_page_gives_the_url_without_the_fragment_and_the_sha256_from_it() -> None:
    body = (b'<!DOCTYPE html><html><body>\n'
            b'<a href="../../packages/x/demo-1.0.tar.gz#sha256=abc" data-requires-python="&gt;=3.8">'
            b'demo-1.0.tar.gz</a><br/>\n'
            b'<a href="/packages/y/demo-0.9.tar.gz#md5=0123">demo-0.9.tar.gz</a><br/>\n'
            b'<a href="demo-0.8.tar.gz">demo-0.8.tar.gz</a>\n</body></html>\n')
    files = parse_page(body, "text/html", PAGE)
    assert [(f.filename, f.url, f.sha256, f.requires_python) for f in files] == [
        ("demo-1.0.tar.gz", "https://files.example.org/packages/x/demo-1.0.tar.gz", "abc", ">=3.8"),
        ("demo-0.9.tar.gz", "https://files.example.org/packages/y/demo-0.9.tar.gz", None, None),
        ("demo-0.8.tar.gz", "https://files.example.org/simple/demo/demo-0.8.tar.gz", None, None),
    ]


def test_a_base_element_moves_the_urls() -> None:
    body = b'<html><head><base href="https://mirror.example.com/root/"></head><a href="demo-1.0.tar.gz">x</a></html>'
    assert parse_page(body, "text/html", PAGE)[0].url == "https://mirror.example.com/root/demo-1.0.tar.gz"


def test_equality_ignores_url_and_sha256() -> None:
    a = IndexFile("demo-1.0.tar.gz", ">=3.8", False, "https://a.example/demo-1.0.tar.gz", "abc")
    b = IndexFile("demo-1.0.tar.gz", ">=3.8", False, "https://b.example/demo-1.0.tar.gz", None)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    # Control: what is compared still is.
    assert a != IndexFile("demo-1.0.tar.gz", ">=3.9", False, a.url, a.sha256)
    assert a != IndexFile("demo-1.0.tar.gz", ">=3.8", True, a.url, a.sha256)
