"""The glibc ceiling's pure decisions: which uv target, which files stay, how pages are rewritten."""

from __future__ import annotations

import json

import pytest

from lambdapack.facts.runtimes import RUNTIMES
from lambdapack.resolve.ceiling import Ceiling, keeps, plan_ceiling
from lambdapack.resolve.indexpages import (
    filter_html,
    filter_json,
    parse_anchors,
    redact,
    split_credentials,
    userinfo_secrets,
)

AL2 = Ceiling((2, 26), "x86_64", (2, 28))
AL2_ARM = Ceiling((2, 26), "aarch64", (2, 28))


def test_al2_runtimes_get_the_next_uv_target_and_al2023_needs_no_proxy() -> None:
    by_name = RUNTIMES
    assert plan_ceiling(by_name["python3.11"].glibc, "x86_64") == AL2
    assert plan_ceiling((2, 26), "aarch64") == AL2_ARM
    assert AL2.uv_platform == "x86_64-manylinux_2_28"
    assert plan_ceiling(by_name["python3.12"].glibc, "x86_64") is None  # 2.34 is a uv target
    assert plan_ceiling((2, 17), "x86_64") is None
    assert plan_ceiling((2, 30), "x86_64") == Ceiling((2, 30), "x86_64", (2, 31))
    assert plan_ceiling((2, 41), "x86_64") is None  # above uv's newest: nothing to cut


@pytest.mark.parametrize(
    ("filename", "kept"),
    [
        ("pandas-3.1.1-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl", True),
        ("numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", False),
        ("x-1-cp311-cp311-manylinux_2_26_x86_64.whl", True),
        ("x-1-cp311-cp311-manylinux_2_28_x86_64.whl", False),
        ("x-1-cp311-cp311-manylinux_3_0_x86_64.whl", False),
        ("x-1-cp311-cp311-manylinux2014_x86_64.whl", True),
        ("x-1-cp311-cp311-manylinux2010_x86_64.whl", True),
        ("x-1-cp311-cp311-manylinux1_x86_64.whl", True),
        ("x-1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", False),
        ("x-1-cp311-cp311-musllinux_1_1_x86_64.whl", False),
        ("x-1-cp311-cp311-linux_x86_64.whl", False),
        ("x-1-cp311-cp311-macosx_11_0_arm64.whl", False),
        ("x-1-cp311-cp311-win_amd64.whl", False),
        ("x-1-py3-none-any.whl", True),
        ("x-1-2build-py3-none-any.whl", True),
        ("x-1.tar.gz", True),  # sdists are uv's --only-binary decision, not the ceiling's
        ("x-1.zip", True),
    ],
)
def test_which_files_stay(filename: str, kept: bool) -> None:
    assert keeps(filename, AL2) is kept


def test_legacy_aliases_map_to_their_glibc() -> None:
    old = Ceiling((2, 12), "x86_64", (2, 17))
    assert keeps("x-1-cp39-cp39-manylinux2010_x86_64.whl", old)
    assert keeps("x-1-cp39-cp39-manylinux1_x86_64.whl", old)
    assert not keeps("x-1-cp39-cp39-manylinux2014_x86_64.whl", old)
    assert keeps("x-1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", AL2_ARM)


PEP503 = """<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"><title>Links for demo</title></head>
<body><h1>Links for demo</h1>
<a href="../../packages/demo-2.0-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=aa" data-requires-python="&gt;=3.10">demo-2.0-cp311-cp311-manylinux_2_28_x86_64.whl</a><br/>
<a href="../../packages/demo-1.5-cp311-cp311-manylinux_2_24_x86_64.whl#sha256=bb" data-requires-python="&gt;=3.10" data-dist-info-metadata="sha256=cc" data-core-metadata="sha256=cc">demo-1.5-cp311-cp311-manylinux_2_24_x86_64.whl</a><br/>
<a href="https://files.example.org/demo-1.5-cp311-cp311-musllinux_1_2_x86_64.whl#sha256=dd">demo-1.5-cp311-cp311-musllinux_1_2_x86_64.whl</a><br/>
<a href="/packages/demo-1.4.tar.gz#sha256=ee" data-yanked="broken build">demo-1.4.tar.gz</a><br/>
<a href="https://files.example.org/demo-1.3-py3-none-any.whl#sha256=ff" data-yanked>demo-1.3-py3-none-any.whl</a>
</body></html>
"""


def test_html_page_drops_wheels_above_the_ceiling_and_keeps_every_attribute() -> None:
    page_url = "https://index.example.org/simple/demo/"
    out = filter_html(PEP503, page_url, AL2)
    anchors = parse_anchors(out, "http://127.0.0.1:1/0/demo/")  # absolute: the proxy URL is not used
    hrefs = [dict(a.attrs)["href"] for a in anchors]
    assert hrefs == [
        "https://index.example.org/packages/demo-1.5-cp311-cp311-manylinux_2_24_x86_64.whl#sha256=bb",
        "https://index.example.org/packages/demo-1.4.tar.gz#sha256=ee",
        "https://files.example.org/demo-1.3-py3-none-any.whl#sha256=ff",
    ]
    first, sdist, pure = (dict(a.attrs) for a in anchors)
    assert first["data-requires-python"] == ">=3.10"
    assert first["data-dist-info-metadata"] == "sha256=cc"
    assert first["data-core-metadata"] == "sha256=cc"
    assert sdist["data-yanked"] == "broken build"
    assert "data-yanked" in pure and pure["data-yanked"] is None
    assert anchors[0].text == "demo-1.5-cp311-cp311-manylinux_2_24_x86_64.whl"
    assert "&gt;=3.10" in out  # attribute values stay escaped HTML
    assert 'name="pypi:repository-version"' in out


def test_html_base_tag_and_name_from_href_when_text_is_empty() -> None:
    page = ('<html><head><base href="https://mirror.example.org/files/"></head><body>'
            '<a href="demo-1-cp311-cp311-manylinux_2_34_x86_64.whl#sha256=1"></a>'
            '<a href="demo-1-cp311-cp311-manylinux_2_17_x86_64.whl#sha256=2"></a></body></html>')
    anchors = parse_anchors(filter_html(page, "https://index.example.org/simple/demo/", AL2), "x:")
    assert [dict(a.attrs)["href"] for a in anchors] == [
        "https://mirror.example.org/files/demo-1-cp311-cp311-manylinux_2_17_x86_64.whl#sha256=2"]


def test_flat_find_links_page_with_relative_links_and_credentials_kept_in_urls() -> None:
    page = ('<a href="wheels/demo-1-cp311-cp311-manylinux_2_26_x86_64.whl">w</a><a href="other.html">x</a>'
            '<a href="wheels/demo-2-cp311-cp311-manylinux_2_28_x86_64.whl">download</a>')
    out = filter_html(page, "https://u:p%40ss@repo.example.org/links/index.html", AL2)
    hrefs = [dict(a.attrs)["href"] for a in parse_anchors(out, "x:")]
    # The texts are no file names here: the URL's file name decides too (demo 2 needs 2.28).
    assert hrefs == ["https://u:p%40ss@repo.example.org/links/wheels/demo-1-cp311-cp311-manylinux_2_26_x86_64.whl",
                     "https://u:p%40ss@repo.example.org/links/other.html"]


def test_json_page_is_filtered_the_same_way_and_keeps_its_keys() -> None:
    page = {
        "meta": {"api-version": "1.1", "_last-serial": 7},
        "name": "demo",
        "versions": ["1.5", "2.0"],
        "files": [
            {"filename": "demo-2.0-cp311-cp311-manylinux_2_28_x86_64.whl", "url": "../../p/demo-2.0.whl",
             "hashes": {"sha256": "aa"}},
            {"filename": "demo-1.5-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
             "url": "../../p/demo-1.5.whl", "hashes": {"sha256": "bb"}, "requires-python": ">=3.10",
             "core-metadata": {"sha256": "cc"}, "dist-info-metadata": {"sha256": "cc"},
             "yanked": "bad", "size": 10, "upload-time": "2026-01-01T00:00:00Z"},
            {"filename": "demo-1.5.tar.gz", "url": "https://files.example.org/demo-1.5.tar.gz",
             "hashes": {"sha256": "dd"}},
        ],
    }
    out = json.loads(filter_json(json.dumps(page), "https://index.example.org/simple/demo/", AL2))
    assert out["meta"] == page["meta"] and out["versions"] == page["versions"] and out["name"] == "demo"
    assert [f["url"] for f in out["files"]] == ["https://index.example.org/p/demo-1.5.whl",
                                              "https://files.example.org/demo-1.5.tar.gz"]
    kept = out["files"][0]
    expected = dict(page["files"][1])  # type: ignore[call-overload]
    expected["url"] = "https://index.example.org/p/demo-1.5.whl"
    assert kept == expected


def test_credentials_are_split_off_and_redacted() -> None:
    plain, userinfo = split_credentials("https://aws:tok%2Fen@repo.example.org:8443/simple/")
    assert plain == "https://repo.example.org:8443/simple/"
    assert userinfo == "aws:tok/en"
    assert split_credentials("https://pypi.org/simple") == ("https://pypi.org/simple", None)
    secrets = userinfo_secrets(["https://aws:tok%2Fen@repo.example.org/simple/"])
    text = "GET https://aws:tok%2Fen@repo.example.org/x failed; token tok/en"
    assert redact(text, secrets) == "GET https://***@repo.example.org/x failed; token ***"
