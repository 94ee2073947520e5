"""The HTML page's pure parts: its title, Lambda's limits as it reads them, the artifact's
target, hashes and findings, escaping and determinism. Reports are measured from real zips."""

from __future__ import annotations

import dataclasses
import html
import random
import re
import zipfile
from pathlib import Path

import pytest

from lambdapack.facts.limits import UNZIPPED_BYTES, ZIPPED_DIRECT_UPLOAD_BYTES
from lambdapack.inspect.findings import ERROR, WARNING, Finding
from lambdapack.inspect.sizerules import check_sizes
from lambdapack.report.about import about_html, limits_of, target_text
from lambdapack.report.artifact import ArtifactFacts, TargetFacts
from lambdapack.report.page import page_title, render_html
from lambdapack.report.sizes import SizeReport, size_report

AL2023 = TargetFacts("python3.12", "arm64", "Amazon Linux 2023", "2.34")
HEX = "c85fbbefc4b7c15efa415fb8dbaf8587e517521bb926d776c465b42018f64206"
B64 = "yF+778S3wV76QV+426+Fh+UXUhu5Jtd2xGW0IBj2QgY="


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def rep(tmp_path: Path) -> SizeReport:
    z = _zip(tmp_path / "api.zip", {"app.py": b"def handler(e, c):\n    return 1\n",
                                   "data.bin": random.Random(1).randbytes(4000)})
    return size_report(z, "function", {})


def _facts(rep: SizeReport, **over: object) -> SizeReport:
    facts = ArtifactFacts(AL2023, HEX, B64, Path(rep.artifact).stat().st_size, rep.unzipped)
    return dataclasses.replace(rep, facts=dataclasses.replace(facts, **over))  # type: ignore[arg-type]


def _text(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


# --- the title ----------------------------------------------------------------------


def test_title_names_the_artifact_not_the_report_file(rep: SizeReport) -> None:
    assert page_title([rep]) == "api.zip — lambdapack size report"
    page = render_html([rep])  # what cli/build.py passes today
    assert "<title>api.zip — lambdapack size report</title>" in page
    assert "<h1>api.zip — lambdapack size report</h1>" in page


def test_title_of_several_artifacts(rep: SizeReport) -> None:
    assert page_title([rep, rep, rep]) == "3 artifacts — lambdapack size report"
    assert page_title([rep, rep], "shop") == "shop: 2 artifacts — lambdapack size report"
    assert page_title([rep], "shop") == "api.zip — lambdapack size report"  # one zip: its own name
    assert page_title([]) == "lambdapack size report"
    page = render_html([rep, rep], project="shop")
    assert "<title>shop: 2 artifacts — lambdapack size report</title>" in page
    # A project's functions are not one package: no single share of the limit for all of them.
    assert "limit counts each function with its layers" in _text(page) and "together" not in page


# --- the limits ---------------------------------------------------------------------


def test_limits_within(rep: SizeReport) -> None:
    zipped, unzipped = limits_of(_facts(rep))
    assert (zipped.limit, unzipped.limit) == (ZIPPED_DIRECT_UPLOAD_BYTES, UNZIPPED_BYTES)
    assert zipped.size == Path(rep.artifact).stat().st_size  # the file, headers included
    assert unzipped.size == rep.unzipped
    assert not zipped.over and not unzipped.over and zipped.fix == unzipped.fix == ""
    page = render_html([_facts(rep)])
    assert 'class="warn"' not in page and "Over a Lambda limit" not in page


@pytest.mark.parametrize(
    ("zip_bytes", "counted", "over"),
    [
        (ZIPPED_DIRECT_UPLOAD_BYTES, UNZIPPED_BYTES - 1, (False, False)),  # exactly 50 MiB uploads
        (ZIPPED_DIRECT_UPLOAD_BYTES + 1, UNZIPPED_BYTES - 1, (True, False)),
        (1000, UNZIPPED_BYTES, (False, True)),  # LP101 counts 262,144,000 itself as over
        (60 << 20, 300_000_000, (True, True)),
    ],
)
def test_limits_agree_with_the_size_rules(rep: SizeReport, zip_bytes: int, counted: int,
                                          over: tuple[bool, bool]) -> None:
    zipped, unzipped = limits_of(_facts(rep, zip_bytes=zip_bytes, counted_unzipped=counted))
    assert (zipped.over, unzipped.over) == over
    codes = {f.code for f in check_sizes(counted, [(rep.artifact, zip_bytes)], 0)}
    assert ("LP102" in codes, "LP101" in codes) == over
    assert zipped.size == zip_bytes and unzipped.size == counted


def test_over_the_direct_upload_limit_warns_in_binary_units(rep: SizeReport) -> None:
    big = _facts(rep, zip_bytes=60 * 1024 * 1024)
    text = _text(render_html([big]))
    assert "Over a Lambda limit" in text
    assert "zipped, for a direct upload: 60.0 MiB (62,914,560 bytes) is over Lambda's 50 MiB limit " \
           "(52,428,800 bytes) by 10.0 MiB. Upload it to S3" in text
    assert "120.0%" in text
    assert 'role="alert"' in render_html([big])


def test_over_the_unzipped_limit_counts_the_layers(rep: SizeReport) -> None:
    with_layers = _facts(rep, counted_unzipped=UNZIPPED_BYTES + 5 * 1024 * 1024)
    _zipped, unzipped = limits_of(with_layers)
    assert unzipped.name == "unzipped, with its layers" and unzipped.over
    assert "by 5.0 MiB" in _text(about_html(with_layers))
    assert "container image" in unzipped.fix  # LP101's own advice (inspect/sizerules.make_room)


def test_without_facts_the_report_stands_alone(rep: SizeReport) -> None:
    # A report measured outside a build (check, tests): its own sizes, no target or hashes.
    zipped, unzipped = limits_of(rep)
    assert zipped.size == rep.zipped and unzipped.size == rep.unzipped
    text = _text(render_html([rep]))
    assert "Lambda's limits" in text and "CodeSha256" not in text and "Findings" not in text


def test_a_layer_is_counted_with_each_function(tmp_path: Path) -> None:
    z = _zip(tmp_path / "deps.zip", {"python/six.py": b"# six\n" * 100})
    (_zipped, unzipped) = limits_of(size_report(z, "layer", {}))
    assert unzipped.name == "unzipped (counted again with each function that uses it)"


# --- target, hashes, findings -------------------------------------------------------


def test_target_hashes_and_findings_are_shown(rep: SizeReport) -> None:
    findings = (
        Finding("LP102", WARNING, rep.artifact, None, "zip is over the 50 MB direct-upload limit", "upload via S3"),
        Finding("LP003", ERROR, "numpy/x.so", "numpy 2.1.0", "needs GLIBC_2.35", "pin an older numpy"),
    )
    page = render_html([_facts(rep, findings=findings)])
    text = _text(page)
    assert "target python3.12 · arm64 · Amazon Linux 2023 · glibc 2.34" in text
    assert f"sha256 {HEX}" in text and f"CodeSha256 {B64}" in text
    assert "Findings (2)" in text
    assert "LP102 warning zip is over the 50 MB direct-upload limit upload via S3" in text
    assert "LP003 error needs GLIBC_2.35 pin an older numpy numpy/x.so" in text
    assert 'class="sev-error"' in page and 'class="sev-warning"' in page


def test_no_findings_is_said(rep: SizeReport) -> None:
    assert "No findings: every check passed." in _text(render_html([_facts(rep)]))


def test_a_failed_build_has_no_hashes_to_show(rep: SizeReport) -> None:
    text = _text(about_html(_facts(rep, sha256_hex=None, sha256_base64=None, zip_bytes=None)))
    assert "no zip was written (the build failed)" in text and "CodeSha256" not in text


def test_preview_runtime_is_named() -> None:
    t = TargetFacts("python3.15", "x86_64", "Amazon Linux 2023", "2.34", preview=True)
    assert target_text(t) == "python3.15 · x86_64 · Amazon Linux 2023 · glibc 2.34 · preview runtime"


# --- escaping and determinism -------------------------------------------------------


def test_hostile_artifact_and_finding_text_is_escaped(tmp_path: Path) -> None:
    evil = '<img src=x onerror=alert(1)>"&'
    z = _zip(tmp_path / f"{evil}.zip", {"a.py": b"a"})
    rep = size_report(z, "function", {})
    bad = Finding("LP001", ERROR, f"</script><script>alert(2)</script>{evil}", None, evil, evil)
    page = render_html([_facts(rep, findings=(bad,))])
    assert evil not in page and "<img" not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert f"<title>{html.escape(evil)}.zip — lambdapack size report</title>" in page
    assert f"{evil}.zip — lambdapack size report" in _text(page)


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    members = {f"pkg/m{i}.py": random.Random(i).randbytes(100 + i * 37) for i in range(60)}
    a = size_report(_zip(tmp_path / "a.zip", members), "function", {})
    b = size_report(_zip(tmp_path / "a2.zip", members), "function", {})
    b = dataclasses.replace(b, artifact=a.artifact)
    assert render_html([_facts(a)]) == render_html([_facts(a)]) == render_html([_facts(b)])
    assert render_html([_facts(a)]) != render_html([_facts(a, sha256_hex="0" * 64)])
