"""The HTML size report of real builds, rendered by a real headless Chromium: a numpy + pandas
layer (network), and no-dependency builds (offline): a function over the 50 MB direct-upload
limit, hostile file names, a project's two functions.

Chromium is Debian's `chromium` package, which .ci/run installs. A test never installs
software: without a browser on PATH these tests skip and say how to get one.
"""

from __future__ import annotations

import base64
import hashlib
import html as htmllib
import json
import random
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lp_helpers import clean_env, lp_build_json, run_lp, write_handler

from lambdapack.inspect.archive import open_artifact
from lambdapack.inspect.check import distribution_owners
from lambdapack.report.page import render_html
from lambdapack.report.sizes import SizeReport, size_report

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _find_chromium() -> str | None:
    return next((p for b in _BROWSERS if (p := shutil.which(b))), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    found = _find_chromium()
    if not found:
        pytest.skip(f"no headless browser on PATH (looked for {', '.join(_BROWSERS)}); .ci/run installs "
                    "Debian's chromium (apt-get install chromium)")
    return found


def _chromium_argv(browser: str, profile: Path) -> list[str]:
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SizeReport]:
    tmp = tmp_path_factory.mktemp("report")
    req = tmp / "requirements.txt"
    req.write_text("numpy\npandas\n", encoding="utf-8")
    out = tmp / "layer.zip"
    _r, data = lp_build_json(
        ["build", "--layer", "--runtime", "python3.12", "--arch", "x86_64", "-r", str(req), "-o", str(out),
         "--report", str(tmp / "cli.html")],
        cwd=tmp,
        timeout=900,
    )
    assert out.is_file(), data
    (tmp / "build.json").write_text(json.dumps(data), encoding="utf-8")  # for the page the CLI wrote
    with open_artifact(out) as art:
        owners = distribution_owners(art)
    rep = size_report(out, "layer", dict(owners))
    page = tmp / "report.html"
    page.write_text(render_html([rep]), encoding="utf-8")  # measured here: sizes only, no build facts
    return page, rep


@pytest.mark.network
def test_report_matches_the_zip(report: tuple[Path, SizeReport]) -> None:
    _page, rep = report
    with zipfile.ZipFile(rep.artifact) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
    assert len(rep.files) == len(infos) > 1000
    assert rep.unzipped == sum(i.file_size for i in infos)
    assert rep.zipped == sum(i.compress_size for i in infos)
    names = [d.name.split(" ")[0].lower() for d in rep.dists]
    assert names[:2] == ["numpy", "pandas"] or names[:2] == ["pandas", "numpy"]
    assert "(no distribution)" not in names  # every file is attributed via RECORD
    assert rep.largest[0].arcname.endswith(".so") or ".so." in rep.largest[0].arcname
    assert 0 < rep.budget_share < 1


@pytest.mark.network
def test_page_renders_in_headless_chromium(
    report: tuple[Path, SizeReport], chromium: str, tmp_path: Path
) -> None:
    page, rep = report
    url = page.resolve().as_uri()
    dom = subprocess.run(
        [*_chromium_argv(chromium, tmp_path / "profile-dom"), "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-3000:]
    html = dom.stdout
    # The cells exist only once the page's script has run on the embedded data.
    tm = html[html.index('class="tm"') :]
    cells = re.findall(r'<div class="cell [^"]*"', tm)
    assert len(cells) > 50, html[:3000]
    data = json.loads(
        re.search(
            r'<script type="application/json" id="lambdapack-report-data">(.*?)</script>', html, re.S
        ).group(1)  # type: ignore[union-attr]
    )
    assert len(cells) == len(data["reports"][0]["cells"])
    top = rep.dists[0].name
    assert re.search(r'class="cell frame dist[^"]*"[^>]*>' + re.escape(top), tm), top
    assert 'data-mode="dist"' in html  # the legend was drawn
    assert "click a distribution to zoom in" in html

    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [*_chromium_argv(chromium, tmp_path / "profile-shot"), f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-3000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1400, 1000)
    assert len(png) > 50_000  # a blank page compresses to a few kilobytes


@pytest.mark.network
def test_zoomed_kind_view_renders(report: tuple[Path, SizeReport], chromium: str, tmp_path: Path) -> None:
    page, rep = report
    url = page.resolve().as_uri() + "#colour=kind&zoom=0"
    dom = subprocess.run(
        [*_chromium_argv(chromium, tmp_path / "profile"), "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-3000:]
    html = dom.stdout
    assert 'data-mode="kind"' in html
    assert "native code (.so)" in html
    assert "All distributions</a> › " + rep.dists[0].name in html
    tm = html[html.index('class="tm"') :]
    assert len(re.findall(r'<div class="cell ', tm)) > 50


@pytest.mark.parametrize("columns", [60, 80])
def test_cli_size_table_fits_the_terminal(tmp_path: Path, columns: int) -> None:
    # No dependencies: offline and quick. COLUMNS is what shutil.get_terminal_size reads.
    src = write_handler(tmp_path / "src")
    out = tmp_path / "function.zip"
    r = run_lp(
        ["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(out), "--no-cache"],
        cwd=tmp_path,
        env=clean_env({"COLUMNS": str(columns)}),
    )
    assert r.returncode == 0, r.explain()
    lines = r.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("size report: "))
    end = next(i for i, line in enumerate(lines) if line.startswith("unzipped total "))
    table = lines[start + 1 : end]
    assert any("largest" in line for line in table), r.stdout
    assert all(len(line) <= columns for line in table), [line for line in table if len(line) > columns]


# --- what the page says about its artifacts, as the browser shows it ----------------


def _dom(browser: str, page: Path, profile: Path) -> str:
    """The page's DOM once its script has run, as Chromium serialises it."""
    dom = subprocess.run(
        [*_chromium_argv(browser, profile), "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert dom.returncode == 0, dom.stderr[-3000:]
    assert "</html>" in dom.stdout, dom.stdout[:2000]
    return dom.stdout


def _text(fragment: str) -> str:
    """Visible text of a piece of DOM: tags dropped, entities decoded, white space collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def _title(dom: str) -> str:
    m = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert m, dom[:2000]
    return htmllib.unescape(m.group(1))


def _sections(dom: str) -> list[str]:
    return re.findall(r'<section class="report".*?</section>', dom, re.S)


def _b64_sha256(path: Path) -> tuple[str, str]:
    """Our own hashes of a written zip (hex, base64), to hold the page to."""
    digest = hashlib.sha256(path.read_bytes()).digest()
    return digest.hex(), base64.b64encode(digest).decode("ascii")


@pytest.mark.network
def test_cli_page_of_a_real_layer(report: tuple[Path, SizeReport], chromium: str, tmp_path: Path) -> None:
    page, rep = report
    data = json.loads((page.parent / "build.json").read_text(encoding="utf-8"))
    dom = _dom(chromium, page.parent / "cli.html", tmp_path / "profile")
    assert _title(dom) == "layer.zip — lambdapack size report"
    (section,) = _sections(dom)
    text = _text(section)
    assert "target python3.12 · x86_64 · Amazon Linux 2023 · glibc 2.34" in text
    hex_, b64 = _b64_sha256(Path(rep.artifact))
    assert f"sha256 {hex_}" in text and f"CodeSha256 {b64}" in text
    assert data["outputs"][0]["sha256_base64"] == b64
    assert "unzipped (counted again with each function that uses it)" in text
    if data["findings"]:
        assert f"Findings ({len(data['findings'])})" in text
        assert all(f["code"] in text and _text(htmllib.escape(f["message"])) in text for f in data["findings"])
    else:
        assert "No findings: every check passed." in text
    cells = re.findall(r'<div class="cell [^"]*"', section)
    assert len(cells) > 50  # the treemap was drawn beside the new parts


@pytest.fixture(scope="module")
def over_50mb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    """A no-dependency function whose zip is over the 50 MB direct upload: 55 MiB of random bytes
    (incompressible, so --compression-level 0 only saves the time of trying)."""
    tmp = tmp_path_factory.mktemp("over50")
    src = write_handler(tmp / "src")
    (src / "model.bin").write_bytes(random.Random(50).randbytes(55 * 1024 * 1024))
    out, page = tmp / "api.zip", tmp / "r.html"
    _r, data = lp_build_json(
        ["build", str(src), "--runtime", "python3.12", "--arch", "arm64", "-o", str(out), "--report", str(page),
         "--no-cache", "--compression-level", "0"],
        cwd=tmp,
    )
    return out, page, data


def test_page_of_a_function_over_the_direct_upload_limit(
    over_50mb: tuple[Path, Path, dict[str, object]], chromium: str, tmp_path: Path
) -> None:
    out, page, data = over_50mb
    size = out.stat().st_size
    assert size > 50 * 1024 * 1024  # real input over the limit, not a mocked size
    dom = _dom(chromium, page, tmp_path / "profile")
    assert _title(dom) == "api.zip — lambdapack size report"
    assert "<h1>api.zip — lambdapack size report</h1>" in dom
    (section,) = _sections(dom)
    text = _text(section)
    assert "target python3.12 · arm64 · Amazon Linux 2023 · glibc 2.34" in text
    hex_, b64 = _b64_sha256(out)
    assert f"sha256 {hex_}" in text and f"CodeSha256 {b64}" in text
    warn = re.search(r'<div class="warn" role="alert">.*?</ul></div>', section, re.S)
    assert warn, section[:3000]
    assert _text(warn.group(0)).startswith(
        f"Over a Lambda limit zipped, for a direct upload: {size / 1048576:.1f} MiB ({size:,} bytes) is over "
        "Lambda's 50 MiB limit (52,428,800 bytes)"
    )
    assert "Upload it to S3" in _text(warn.group(0))
    assert "unzipped" not in _text(warn.group(0))  # 55 MiB is well within the 250 MiB
    findings = [f for f in data["findings"] if isinstance(f, dict)]  # type: ignore[attr-defined]
    assert [f["code"] for f in findings] == ["LP102"]
    assert "Findings (1)" in text and "LP102 warning zip is " in text
    rows = re.findall(r'<tr class="(over|ok)"><td>([^<]*)</td>', section)
    assert rows == [("over", "zipped, for a direct upload"), ("ok", "unzipped")]


@pytest.mark.skipif(sys.platform == "win32", reason="Windows refuses < > in file names")
def test_hostile_names_do_not_inject(chromium: str, tmp_path: Path) -> None:
    """File names are the user's: a file and an output named like markup stay text in the page."""
    src = write_handler(tmp_path / "src")
    (src / "<img src=x onerror=document.title='pwned'>.txt").write_text("hi", encoding="utf-8")
    out = tmp_path / "<img src=y onerror=document.title='pwned'>.zip"
    page = tmp_path / "r.html"
    lp_build_json(["build", str(src), "--runtime", "python3.11", "--arch", "x86_64", "-o", str(out),
                   "--report", str(page), "--no-cache"], cwd=tmp_path)
    dom = _dom(chromium, page, tmp_path / "profile")
    assert _title(dom) == f"{out.name} — lambdapack size report"  # the script did not retitle it
    assert "<img" not in dom and "onerror=" not in dom.replace("onerror=document", "")
    assert "&lt;img src=x onerror=document.title='pwned'&gt;.txt" in dom  # shown, as text
    assert "target python3.11 · x86_64 · Amazon Linux 2 · glibc 2.26" in _text(dom)


def test_project_page_names_the_project(chromium: str, tmp_path: Path) -> None:
    proj = tmp_path / "shop"
    for name in ("api", "worker"):
        write_handler(proj / name, body=f"NAME = {name!r}")
    (proj / "lambdapack.toml").write_text(
        'runtime = "python3.13"\narch = "arm64"\n\n[functions.api]\nsrc = "api"\n\n'
        '[functions.worker]\nsrc = "worker"\n', encoding="utf-8")
    page = proj / "sizes.html"
    r = run_lp(["build", "--report", str(page), "--no-cache"], cwd=proj)
    assert r.returncode == 0, r.explain()
    dom = _dom(chromium, page, tmp_path / "profile")
    assert _title(dom) == "shop: 2 artifacts — lambdapack size report"
    sections = _sections(dom)
    assert len(sections) == 2
    for section, name in zip(sections, ("api", "worker"), strict=True):
        text = _text(section)
        hex_, b64 = _b64_sha256(proj / "dist" / f"{name}.zip")
        assert f"{name}.zip" in text and f"sha256 {hex_}" in text and f"CodeSha256 {b64}" in text
        assert "target python3.13 · arm64 · Amazon Linux 2023 · glibc 2.34" in text


def test_same_build_same_page(tmp_path: Path) -> None:
    """Deterministic: the same build writes the same page, byte for byte, whether it is built
    afresh or comes whole from the artifact cache (its reports and findings read back)."""
    src = write_handler(tmp_path / "src", body="import json")
    base = ["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "-o", str(tmp_path / "function.zip")]
    pages, cached = [], []
    for n, cache in enumerate((["--cache-dir", str(tmp_path / "cache")],) * 2 + (["--no-cache"],)):
        page = tmp_path / f"r{n}.html"
        _r, data = lp_build_json([*base, *cache, "--report", str(page)], cwd=tmp_path)
        cached.append(data["cached"])
        pages.append(page.read_bytes())
    assert cached == [False, True, False]
    assert pages[0] == pages[1] == pages[2]
    assert b"CodeSha256" in pages[0] and "function.zip — lambdapack size report".encode() in pages[0]
