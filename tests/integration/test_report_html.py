"""The HTML size report of a real numpy + pandas layer, rendered by a real headless Chromium.

Chromium is Debian's `chromium` package, which .ci/run installs. A test never installs
software: without a browser on PATH these tests skip and say how to get one.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from lp_helpers import clean_env, lp_build_json, run_lp, write_handler

from lambdapack.inspect.archive import open_artifact
from lambdapack.inspect.check import distribution_owners
from lambdapack.report.page import render_html
from lambdapack.report.sizes import SizeReport, size_report

pytestmark = pytest.mark.network

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
        ["build", "--layer", "--runtime", "python3.12", "--arch", "x86_64", "-r", str(req), "-o", str(out)],
        cwd=tmp,
        timeout=900,
    )
    assert out.is_file(), data
    with open_artifact(out) as art:
        owners = distribution_owners(art)
    rep = size_report(out, "layer", dict(owners))
    page = tmp / "report.html"
    page.write_text(render_html([rep], "lambdapack size report: layer.zip"), encoding="utf-8")
    return page, rep


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
