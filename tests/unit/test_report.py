"""Size reports: measured from real zips, rendered as text, JSON and one HTML page."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.report.page import render_html
from lambdapack.report.sizes import SizeReport, file_kind, size_report, zip_member_sizes
from lambdapack.report.summary import to_json
from lambdapack.report.table import render_table
from lambdapack.report.treemap import Rect, squarify, treemap_cells

EPS = 1e-6


def make_zip(path: Path, members: dict[str, bytes], *, stored: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("python/numpy/"), b"")  # a directory entry: not a file
        for name, data in members.items():
            zf.writestr(
                name, data, compress_type=zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            )
    return path


def noise(n: int, seed: int = 0) -> bytes:
    """Incompressible bytes, so zipped sizes differ visibly from compressible ones."""
    return random.Random(seed).randbytes(n)


MEMBERS = {
    "python/numpy/__init__.py": b"import os\n" * 300,
    "python/numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so": noise(50_000, 1),
    "python/numpy/_core/__pycache__/x.cpython-312.pyc": b"\0" * 700,
    "python/numpy.libs/libopenblas-abc.so.0.3": noise(80_000, 2),
    "python/numpy-2.1.0.dist-info/RECORD": b"numpy/__init__.py,,\n",
    "python/six.py": b"# six\n" * 1000,
    "python/six-1.16.0.dist-info/RECORD": b"six.py,,\n",
    "python/stray/data.bin": noise(10_000, 3),
}
OWNERS: dict[str, str | None] = {
    "python/numpy/__init__.py": "numpy 2.1.0",
    "python/numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so": "numpy 2.1.0",
    "python/numpy/_core/__pycache__/x.cpython-312.pyc": "numpy 2.1.0",
    "python/numpy.libs/libopenblas-abc.so.0.3": "numpy 2.1.0",
    "python/numpy-2.1.0.dist-info/RECORD": "numpy 2.1.0",
    "python/six.py": "six 1.16.0",
    "python/six-1.16.0.dist-info/RECORD": "six 1.16.0",
    "python/stray/data.bin": None,
}


@pytest.fixture
def layer_zip(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "layer.zip", MEMBERS, stored=("python/six.py",))


@pytest.fixture
def rep(layer_zip: Path) -> SizeReport:
    return size_report(
        layer_zip, "layer", OWNERS, {"numpy": 1_000, "six 1.16.0": 20, "boto3 1.0": 5_000}, top=3
    )


# --- measuring ----------------------------------------------------------------------


def test_member_sizes_come_from_the_central_directory(layer_zip: Path) -> None:
    sizes = zip_member_sizes(layer_zip)
    with zipfile.ZipFile(layer_zip) as zf:
        expected = {i.filename: (i.file_size, i.compress_size) for i in zf.infolist() if not i.is_dir()}
    assert sizes == expected
    assert "python/numpy/" not in sizes  # directory entries are not files
    assert sizes["python/six.py"] == (6000, 6000)  # stored: compressed == uncompressed
    assert sizes["python/numpy/__init__.py"][1] < 3000 // 10  # deflated text shrinks
    assert {n: u for n, (u, _z) in sizes.items()} == {n: len(b) for n, b in MEMBERS.items()}


def test_totals_and_budget_share(rep: SizeReport, layer_zip: Path) -> None:
    unzipped = sum(len(b) for b in MEMBERS.values())
    assert rep.unzipped == unzipped
    assert rep.zipped == sum(z for _u, z in zip_member_sizes(layer_zip).values())
    assert rep.budget_share == pytest.approx(unzipped / 262_144_000)
    assert UNZIPPED_BYTES == 262_144_000
    assert len(rep.files) == len(MEMBERS)
    assert [f.arcname for f in rep.files] == sorted(MEMBERS)
    assert rep.artifact == str(layer_zip) and rep.kind == "layer"


def test_distributions_are_aggregated_and_ordered_by_size(rep: SizeReport) -> None:
    by_name = {d.name: d for d in rep.dists}
    numpy = by_name["numpy 2.1.0"]
    numpy_files = [n for n, o in OWNERS.items() if o == "numpy 2.1.0"]
    assert numpy.files == len(numpy_files) == 5
    assert numpy.unzipped == sum(len(MEMBERS[n]) for n in numpy_files)
    assert numpy.zipped == sum(f.zipped for f in rep.files if f.distribution == "numpy 2.1.0")
    assert by_name["six 1.16.0"].files == 2
    assert by_name["(no distribution)"].unzipped == 10_000  # None owner in a layer
    assert sum(d.unzipped for d in rep.dists) == rep.unzipped
    assert sum(d.files for d in rep.dists) == len(rep.files)
    sizes = [d.unzipped for d in rep.dists]
    assert sizes == sorted(sizes, reverse=True)


def test_slimming_savings_match_labels_or_bare_names(rep: SizeReport) -> None:
    by_name = {d.name: d for d in rep.dists}
    assert by_name["numpy 2.1.0"].saved == 1_000  # given as the bare name "numpy"
    assert by_name["six 1.16.0"].saved == 20
    # A distribution slimmed away completely still gets a row, with no files.
    assert by_name["boto3 1.0"].files == 0 and by_name["boto3 1.0"].saved == 5_000
    assert rep.saved == 6_020


def test_largest_files_in_order(layer_zip: Path) -> None:
    rep = size_report(layer_zip, "layer", OWNERS)
    expected = sorted(MEMBERS, key=lambda n: (-len(MEMBERS[n]), n))
    assert [f.arcname for f in rep.largest] == expected  # fewer than 20 files: all of them
    top2 = size_report(layer_zip, "layer", OWNERS, top=2).largest
    assert [f.arcname for f in top2] == expected[:2]
    assert top2[0].arcname == "python/numpy.libs/libopenblas-abc.so.0.3"
    assert top2[0].unzipped == 80_000 and top2[0].distribution == "numpy 2.1.0"


def test_ties_in_size_are_ordered_by_name(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "f.zip", {"b.txt": b"x" * 10, "a.txt": b"y" * 10, "c.txt": b"z"})
    rep = size_report(z, "function", {})
    assert [f.arcname for f in rep.largest] == ["a.txt", "b.txt", "c.txt"]
    assert [d.name for d in rep.dists] == ["(your code)"]  # None owner in a function


def test_owner_of_a_parent_folder_is_used(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "f.zip", {"pkg/sub/a.py": b"a", "pkg/b.py": b"bb", "handler.py": b"h"})
    rep = size_report(z, "function", {"pkg": "pkg 1.0"})
    owners = {f.arcname: f.distribution for f in rep.files}
    assert owners == {"pkg/sub/a.py": "pkg 1.0", "pkg/b.py": "pkg 1.0", "handler.py": None}


def test_empty_zip(tmp_path: Path) -> None:
    z = tmp_path / "empty.zip"
    zipfile.ZipFile(z, "w").close()
    rep = size_report(z, "function", {})
    assert rep.files == [] and rep.dists == [] and rep.unzipped == 0 and rep.budget_share == 0
    assert "0 files" in render_table(rep)
    page = render_html([rep], "empty")
    _parse(page)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so", "native"),
        ("numpy.libs/libgfortran-abc.so.5.0.0", "native"),
        ("x/y.pyd", "native"),
        ("pkg/mod.py", "python"),
        ("pkg/mod.pyi", "python"),
        ("pkg/__pycache__/mod.cpython-312.pyc", "bytecode"),
        ("pkg/data.json", "data"),
        ("pkg-1.0.dist-info/RECORD", "data"),
        ("pkg/solib.sofa", "data"),
    ],
)
def test_file_kind(name: str, kind: str) -> None:
    assert file_kind(name) == kind


# --- text and JSON -------------------------------------------------------------------


def test_table_lists_distributions_and_largest_files_within_the_width(rep: SizeReport) -> None:
    text = render_table(rep, width=80)
    lines = text.splitlines()
    # The first line names the artifact whole (a path to copy, as long as the temp dir
    # makes it: longer under xdist); the table below it fits the width.
    assert lines[0] == f"layer {rep.artifact}"
    assert all(len(line) <= 80 for line in lines[1:]), [line for line in lines[1:] if len(line) > 80]
    assert "numpy 2.1.0" in text and "six 1.16.0" in text and "boto3 1.0" in text
    assert f"{rep.budget_share * 100:.1f}% of Lambda's 250 MiB" in text
    assert "largest 3 files" in text
    # The long .so path is elided in the middle: both ends survive.
    so_line = next(line for line in lines if "linux-gnu.so" in line)
    assert "python/numpy/" in so_line and "…" in so_line
    assert "\x1b[" not in text  # no colour: the CLI adds it
    wide = render_table(rep, width=140)
    assert "python/numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so" in wide


_TABLE_AT_80 = """\
  8 files, 146.2 KiB unzipped, 142.7 KiB zipped, slimming saved 5.9 KiB
  [..............................] 0.1% of Lambda's 250 MiB unzipped limit

  distribution                   files   unzipped     zipped   budget      saved
  numpy 2.1.0                        5  130.6 KiB  127.1 KiB     0.1%     1000 B
  (no distribution)                  1    9.8 KiB    9.8 KiB     0.0%          -
  six 1.16.0                         2    5.9 KiB    5.9 KiB     0.0%       20 B
  boto3 1.0                          0        0 B        0 B     0.0%    4.9 KiB
  total                              8  146.2 KiB  142.7 KiB     0.1%    5.9 KiB

  largest 3 files                                            unzipped     zipped
  python/numpy.libs/libopenblas-abc.so.0.3                   78.1 KiB   78.1 KiB
  python/numpy/_core/_multiar…thon-312-x86_64-linux-gnu.so   48.8 KiB   48.8 KiB
  python/stray/data.bin                                       9.8 KiB    9.8 KiB
"""


def test_table_at_80_columns_and_wider_is_laid_out_as_before(rep: SizeReport) -> None:
    assert render_table(rep, width=80).split("\n", 1)[1] == _TABLE_AT_80
    assert render_table(rep, width=200).splitlines()[1:3] == _TABLE_AT_80.splitlines()[:2]


@pytest.mark.parametrize("width", [60, 61, 63, 64, 70, 79])
def test_table_fits_a_narrow_terminal(rep: SizeReport, width: int) -> None:
    # Over budget too: the longest budget line ("1000.0% ... (OVER)").
    over = dataclasses.replace(rep, unzipped=UNZIPPED_BYTES * 10, budget_share=10.0)
    for r in (rep, over):
        lines = render_table(r, width=width).splitlines()
        assert lines[0] == f"layer {rep.artifact}"  # the path to copy stays whole
        assert all(len(line) <= width for line in lines[1:]), [line for line in lines[1:] if len(line) > width]
    text = render_table(rep, width=width)
    assert "slimming saved 5.9 KiB" in text and "0.1% of Lambda's 250 MiB unzipped limit" in text
    assert "(OVER)" in render_table(over, width=width)
    assert ("distribution" in text) == (width >= 64)  # the heading, once its column is wide enough


def test_json_summary(rep: SizeReport) -> None:
    data = to_json(rep)
    json.dumps(data)  # serialisable as is
    assert data["unzipped_bytes"] == rep.unzipped and data["zipped_bytes"] == rep.zipped
    assert data["budget_bytes"] == 262_144_000
    assert data["budget_share"] == pytest.approx(rep.budget_share)
    assert data["saved_bytes"] == 6_020 and data["files"] == len(MEMBERS)
    dists = data["distributions"]
    assert isinstance(dists, list) and dists[0]["name"] == "numpy 2.1.0"
    largest = data["largest"]
    assert isinstance(largest, list) and [f["path"] for f in largest] == [f.arcname for f in rep.largest]
    assert largest[0]["kind"] == "native"
    kinds = data["kinds"]
    assert isinstance(kinds, dict)
    assert sum(k["unzipped_bytes"] for k in kinds.values()) == rep.unzipped


# --- squarified layout -----------------------------------------------------------------


def _overlap(a: Rect, b: Rect) -> float:
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(w, 0.0) * max(h, 0.0)


def _check_tiling(sizes: list[float], rects: list[Rect], box: Rect) -> None:
    assert len(rects) == len(sizes)
    total = sum(s for s in sizes if s > 0)
    for s, r in zip(sizes, rects, strict=True):
        assert r.w >= -EPS and r.h >= -EPS
        assert r.x >= box.x - EPS and r.y >= box.y - EPS
        assert r.x + r.w <= box.x + box.w + EPS and r.y + r.h <= box.y + box.h + EPS
        expected = box.area * s / total if s > 0 else 0.0
        assert r.area == pytest.approx(expected, rel=1e-9, abs=1e-9)  # proportional
    assert sum(r.area for r in rects) == pytest.approx(box.area, rel=1e-12)  # covers it all
    for a, b in itertools.combinations(rects, 2):
        assert _overlap(a, b) < 1e-7  # no overlaps (so, with the sum, an exact tiling)


@pytest.mark.parametrize("seed", range(12))
def test_squarify_tiles_the_box_exactly(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 60)
    sizes = [rng.choice([rng.random(), rng.random() * 1000, float(rng.randint(1, 5))]) for _ in range(n)]
    box = Rect(rng.uniform(-5, 5), rng.uniform(-5, 5), rng.uniform(1, 1500), rng.uniform(1, 900))
    _check_tiling(sizes, squarify(sizes, box.x, box.y, box.w, box.h), box)


def test_squarify_keeps_input_order_and_handles_zero_sizes() -> None:
    sizes = [1.0, 0.0, 6.0, 2.0, -3.0, 3.0]
    rects = squarify(sizes, 0, 0, 6, 2)
    _check_tiling([max(s, 0) for s in sizes], rects, Rect(0, 0, 6, 2))
    assert rects[2].area == pytest.approx(6.0)
    assert rects[1].area == 0 and rects[4].area == 0


def test_squarify_edge_cases() -> None:
    assert squarify([], 0, 0, 10, 10) == []
    assert squarify([5], 1, 2, 3, 4) == [Rect(1, 2, 3, 4)]
    assert all(r.area == 0 for r in squarify([1, 2], 0, 0, 0, 10))  # an empty box
    assert all(r.area == 0 for r in squarify([0, 0], 0, 0, 10, 10))


def test_squarify_makes_squarish_cells() -> None:
    # The classic example of Bruls et al.: 6 6 4 3 2 2 1 in a 6 x 4 box.
    rects = squarify([6, 6, 4, 3, 2, 2, 1], 0, 0, 6, 4)
    _check_tiling([6, 6, 4, 3, 2, 2, 1], rects, Rect(0, 0, 6, 4))
    worst = max(max(r.w / r.h, r.h / r.w) for r in rects)
    assert worst < 3.0
    many = squarify([1.0] * 100, 0, 0, 100, 100)
    assert max(max(r.w / r.h, r.h / r.w) for r in many) < 2.5


# --- the treemap of a package -----------------------------------------------------------


def big_report(tmp_path: Path, n_files: int, seed: int = 0) -> SizeReport:
    rng = random.Random(seed)
    members: dict[str, bytes] = {}
    owners: dict[str, str | None] = {}
    for i in range(n_files):
        dist = rng.choice(["alpha", "beta", "gamma", "delta"])
        folder = "/".join(
            rng.choice(["core", "io", "tests", "data", "libs"]) for _ in range(rng.randint(0, 3))
        )
        ext = rng.choice([".py", ".so", ".pyc", ".json"])
        name = f"python/{dist}/{folder + '/' if folder else ''}f{i}{ext}"
        size = int(rng.paretovariate(1.2) * 200)
        members[name] = b"\0" * size
        owners[name] = f"{dist} 1.0"
    return size_report(make_zip(tmp_path / "big.zip", members), "layer", owners)


def test_treemap_cells_stay_inside_and_leaves_do_not_overlap(tmp_path: Path) -> None:
    rep = big_report(tmp_path, 400)
    cells = treemap_cells(rep, 1200, 640)
    for c in cells:
        r = c.rect
        assert r.x >= -EPS and r.y >= -EPS
        assert r.x + r.w <= 1200 + EPS and r.y + r.h <= 640 + EPS
    leaves = [c for c in cells if c.type in ("l", "g", "o")]
    for a, b in itertools.combinations(leaves, 2):
        assert _overlap(a.rect, b.rect) < 1e-6, (a.path, b.path)
    # Every file is drawn exactly once: as a cell, inside a folded folder, or in an "other" group.
    assert sum(c.files for c in leaves) == len(rep.files)
    assert sum(c.unzipped for c in leaves) == rep.unzipped
    assert {c.label for c in cells if c.type == "d"} <= {d.name for d in rep.dists}


def test_treemap_stays_small_for_thousands_of_files(tmp_path: Path) -> None:
    rep = big_report(tmp_path, 3000, seed=1)
    cells = treemap_cells(rep, 1200, 640, max_cells=1500)
    assert 50 < len(cells) <= 1500
    assert any(c.type == "o" and c.label.startswith("other (") for c in cells)
    leaves = [c for c in cells if c.type in ("l", "g", "o")]
    assert sum(c.files for c in leaves) == 3000
    zoomed = treemap_cells(rep, 1200, 640, dist=0)
    assert zoomed[0].type == "d" and zoomed[0].label == rep.dists[0].name
    assert sum(c.files for c in zoomed if c.type in ("l", "g", "o")) == rep.dists[0].files


# --- HTML ---------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Checker(HTMLParser):
    """Fails on a mismatched or unclosed tag; collects attributes and script contents."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag == "script":
            self._script = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._script is not None and self.stack and self.stack[-1] == "script":
            self.scripts.append((self._script, data))
            self._script = None
        else:
            self.text.append(data)


def _parse(page: str) -> _Checker:
    p = _Checker()
    p.feed(page)
    p.close()
    assert p.stack == [], f"unclosed: {p.stack}"
    return p


def _data(p: _Checker) -> dict[str, object]:
    blobs = [d for a, d in p.scripts if a.get("type") == "application/json"]
    assert len(blobs) == 1
    return json.loads(blobs[0])  # type: ignore[no-any-return]


def test_html_is_self_contained_and_well_formed(rep: SizeReport) -> None:
    page = render_html([rep], "size report")
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    p = _parse(page)
    for tag, attr, value in p.attrs:
        assert attr not in ("src", "href", "srcset", "action"), (tag, attr, value)  # nothing to load
    assert [a.get("src") for a, _d in p.scripts] == [None, None]  # inline JSON + inline script
    text = " ".join(p.text)
    assert "numpy 2.1.0" in text and "250 MiB unzipped limit" in text and "Largest 3 files" in text
    assert "python/numpy.libs/libopenblas-abc.so.0.3" in text  # the top-N table
    assert "saved by slimming" in text


def test_html_embeds_the_data(rep: SizeReport, tmp_path: Path) -> None:
    data = _data(_parse(render_html([rep, rep], "two")))
    assert data["budget"] == 262_144_000
    reports = data["reports"]
    assert isinstance(reports, list) and len(reports) == 2
    r0 = reports[0]
    assert r0["unzipped"] == rep.unzipped and r0["zipped"] == rep.zipped and r0["files"] == len(rep.files)
    assert [d[0] for d in r0["dists"]] == [d.name for d in rep.dists]
    paths = {c[11] for c in r0["cells"]}
    assert "python/numpy.libs/libopenblas-abc.so.0.3" in paths
    assert set(r0["zoom"]) == {str(i) for i, d in enumerate(rep.dists) if d.files > 1}


def test_html_escapes_hostile_names(tmp_path: Path) -> None:
    evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>&amp;"'
    name = f"python/{evil}.py"
    z = make_zip(tmp_path / "evil.zip", {name: b"x" * 100, "python/ok.py": b"y"})
    rep = size_report(z, "layer", {name: f"{evil} 1.0"})
    page = render_html([rep, rep], project=f"title {evil}")  # the title names a project
    assert evil not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    p = _parse(page)
    assert all(attr != "onerror" for _t, attr, _v in p.attrs)
    assert f"title {evil}" in " ".join(p.text)  # shown as text, once unescaped
    blob = next(d for a, d in p.scripts if a.get("type") == "application/json")
    assert "</" not in blob and "<" not in blob
    data = _data(p)
    reports = data["reports"]
    assert isinstance(reports, list)
    assert name in {c[11] for c in reports[0]["cells"]}  # round-trips intact


def test_html_for_a_real_build_sized_package(tmp_path: Path) -> None:
    rep = big_report(tmp_path, 3000, seed=2)
    page = render_html([rep], "big")
    _parse(page)
    assert len(page) < 3_000_000
    cells = _data(_parse(page))["reports"][0]["cells"]  # type: ignore[index]
    assert 50 < len(cells) <= 2500


def test_over_budget_is_flagged(tmp_path: Path) -> None:
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        info = zipfile.ZipInfo("python/huge.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w") as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(UNZIPPED_BYTES // len(chunk) + 2):
                f.write(chunk)
    rep = size_report(big, "layer", {})
    assert rep.budget_share > 1.0
    assert "(OVER)" in render_table(rep)
    page = render_html([rep], "over")
    assert 'class="budget over"' in page and "over by" in page
    assert re.search(r"<strong>100\.\d%</strong>", page)
    big.unlink()
