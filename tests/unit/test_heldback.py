"""The held-back decisions, pure: index pages read, uv's index order, and each note's reason
and `fits` from all the files of a project."""

from __future__ import annotations

import json

from packaging.version import Version

from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.resolve.heldback import HeldBack, explain_project
from lambdapack.resolve.indexlisting import IndexFile, parse_page, project_of, search_order
from lambdapack.resolve.install import Locations
from lambdapack.target.tags import Target

PY312 = Target(get_runtime("python3.12"), Arch.X86_64)
PY311 = Target(get_runtime("python3.11"), Arch.X86_64)


def _files(*pairs: tuple[str, str]) -> list[IndexFile]:
    return [IndexFile(f"demo-{v}-py3-none-{plat}.whl") for v, plat in pairs]


def test_newest_with_only_too_new_glibc_names_the_glibc_on_al2023() -> None:
    files = _files(("1.0", "manylinux_2_17_x86_64"), ("2.0", "manylinux_2_35_x86_64"))
    h = explain_project("demo", "1.0", "2.0", files, PY312, (2, 34))
    assert h.reason == "demo 2.0 ships only manylinux_2_35 wheels; python3.12 (Amazon Linux 2023) has glibc 2.34"
    assert h.fits is None


def test_names_the_newest_version_that_fits_when_newer_than_the_chosen_one() -> None:
    files = _files(("1.0", "manylinux_2_17_x86_64"), ("2.0", "manylinux_2_17_x86_64"),
                   ("2.1rc1", "manylinux_2_17_x86_64"), ("3.0", "manylinux_2_35_x86_64"))
    h = explain_project("demo", "1.0", "3.0", files, PY312, (2, 34))
    assert h.fits == "2.0"  # the pre-release is not what uv would take for a release
    assert h.reason == ("demo 3.0 ships only manylinux_2_35 wheels; python3.12 (Amazon Linux 2023) has glibc 2.34; "
                        "2.0 would fit, but a requirement keeps demo at 1.0")


def test_no_newer_fit_names_none_and_the_chosen_one_is_not_a_fit() -> None:
    files = _files(("1.0", "manylinux_2_17_x86_64"), ("3.0", "manylinux_2_35_x86_64"),
                   ("2.0", "manylinux_2_17_aarch64"))
    h = explain_project("demo", "1.0", "3.0", files, PY312, (2, 34))
    assert h.fits is None and "would fit" not in h.reason


def test_yanked_and_requires_python_files_do_not_fit() -> None:
    files = [IndexFile("demo-1.0-py3-none-any.whl"), IndexFile("demo-2.0-py3-none-any.whl", yanked=True),
             IndexFile("demo-2.5-py3-none-any.whl", requires_python=">=3.13"),
             IndexFile("demo-3.0-py3-none-manylinux_2_35_x86_64.whl")]
    h = explain_project("demo", "1.0", "3.0", files, PY312, (2, 34))
    assert h.fits is None, h
    only_313 = explain_project("demo", "1.0", "2.5", files, PY312, (2, 34))
    assert only_313.reason == "demo 2.5 requires Python >=3.13; python3.12 is Python 3.12"


def test_newest_that_fits_says_a_requirement_keeps_it() -> None:
    files = _files(("1.0", "manylinux_2_17_x86_64"), ("2.0", "manylinux_2_17_x86_64"))
    h = explain_project("demo", "1.0", "2.0", files, PY312, (2, 34))
    assert h.fits == "2.0" and "has a fitting wheel" in h.reason


def test_al2_without_the_exact_ceiling_says_uv_resolved_lower() -> None:
    # Offline, uv keeps manylinux_2_17 on Amazon Linux 2: a 2_24 wheel fits the runtime, not uv's target.
    files = _files(("1.0", "manylinux_2_17_x86_64"), ("1.5", "manylinux_2_24_x86_64"))
    offline = explain_project("demo", "1.0", "1.5", files, PY311, (2, 17))
    assert offline.fits is None and "uv resolved for manylinux 2.17" in offline.reason
    exact = explain_project("demo", "1.0", "1.5", files, PY311, (2, 26))
    assert exact.fits == "1.5"


def test_sdist_only_other_arch_and_unlisted() -> None:
    sdist = explain_project("demo", "1.0", "2.0", [IndexFile("demo-2.0.tar.gz")], PY312, (2, 34))
    assert "only a source distribution" in sdist.reason
    arm = explain_project("demo", "1.0", "2.0", _files(("2.0", "manylinux_2_17_aarch64")), PY312, (2, 34))
    assert "built for aarch64" in arm.reason
    assert "could not list" in explain_project("demo", "1.0", "2.0", None, PY312, (2, 34)).reason
    assert "could not list" in explain_project("demo", "1.0", "2.0", [], PY312, (2, 34)).reason


def test_cache_form_is_a_string_map_and_round_trips() -> None:
    h = HeldBack("demo", "1.0", "3.0", "r", "2.0")
    assert HeldBack(**h.as_dict()) == h
    none = HeldBack("demo", "1.0", "3.0", "r")
    assert "fits" not in none.as_dict() and none.as_json()["fits"] is None
    assert HeldBack(**none.as_dict()) == none


def test_parse_html_page_with_relative_links_yanked_and_requires_python() -> None:
    page = (b'<html><body><a href="../../files/demo-1.0-py3-none-any.whl#sha256=00" '
            b'data-requires-python="&gt;=3.9">demo-1.0-py3-none-any.whl</a>'
            b'<a href="https://files.example/demo-2.0.tar.gz" data-yanked="">demo-2.0.tar.gz</a></body></html>')
    files = parse_page(page, "text/html", "https://h/simple/demo/")
    assert files == [IndexFile("demo-1.0-py3-none-any.whl", ">=3.9", False), IndexFile("demo-2.0.tar.gz", None, True)]


def test_parse_json_page() -> None:
    body = json.dumps({"meta": {"api-version": "1.0"}, "name": "demo", "files": [
        {"filename": "demo-1.0-py3-none-any.whl", "url": "x", "hashes": {}, "requires-python": ">=3.8"},
        {"filename": "demo-2.0-py3-none-any.whl", "url": "y", "hashes": {}, "yanked": "broken"}]}).encode()
    files = parse_page(body, "application/vnd.pypi.simple.v1+json; charset=utf-8", "https://h/simple/demo/")
    assert files == [IndexFile("demo-1.0-py3-none-any.whl", ">=3.8", False),
                     IndexFile("demo-2.0-py3-none-any.whl", None, True)]
    assert parse_page(b"not json", "application/vnd.pypi.simple.v1+json", "u") == []


def test_search_order_is_uv_s_extra_indexes_before_the_default() -> None:
    locs = Locations("https://primary/simple", ("https://a/simple", "https://b/simple"), ())
    assert search_order(locs, {}) == (("https://a/simple", "https://b/simple", "https://primary/simple"), False)
    assert search_order(locs, {"UV_INDEX_STRATEGY": "unsafe-best-match"})[1] is True


def test_project_of() -> None:
    assert project_of("Demo_Pkg-2.0-py3-none-any.whl") == ("demo-pkg", Version("2.0"))
    assert project_of("demo-1.0.tar.gz") is not None and project_of("README.txt") is None
    assert project_of("demo.whl") is None
