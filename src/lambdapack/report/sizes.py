"""Size reports: where the bytes of a built zip go, per distribution and per file.

Three renderings of one `SizeReport`: a plain-text table (`render_table`; the CLI adds
colour), a JSON object (`to_json`, for `--format json`) and one self-contained HTML
page (`render_html`, for `--report report.html`) with a treemap of the package.

Sizes come from the zip's central directory only (`zip_member_sizes`): nothing is
decompressed, so a report of a 250 MB package costs milliseconds. The treemap layout
is computed here, in Python (`squarify`), so the page's script only draws rectangles
and the layout is unit-tested; the page loads nothing from the network.

Units: the budget is Lambda's 250 MB unzipped limit, which AWS means as 250 MiB
(262,144,000 bytes); sizes are shown in binary units (KiB, MiB) to match.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lambdapack.facts.layout import pyc_source
from lambdapack.facts.limits import UNZIPPED_BYTES

__all__ = [
    "KINDS",
    "DistSize",
    "FileSize",
    "Rect",
    "SizeReport",
    "file_kind",
    "render_html",
    "render_table",
    "size_report",
    "squarify",
    "to_json",
    "treemap_cells",
    "zip_member_sizes",
]

UNOWNED_FUNCTION = "(your code)"
UNOWNED_LAYER = "(no distribution)"
KINDS: tuple[str, ...] = ("native", "python", "bytecode", "data")
_NATIVE_RE = re.compile(r"\.(so(\.\d+)*|pyd|dylib)$")
# Where dependencies live inside a layer (or a function zip: at the root).
_SITE_ROOT_RE = re.compile(r"^(python/lib/python\d+\.\d+/site-packages/|python/)")


@dataclass(frozen=True)
class FileSize:
    arcname: str
    distribution: str | None
    unzipped: int
    zipped: int


@dataclass(frozen=True)
class DistSize:
    name: str
    files: int
    unzipped: int
    zipped: int
    saved: int  # bytes removed or stripped by slimming for this distribution


@dataclass(frozen=True)
class SizeReport:
    artifact: str
    kind: str  # "function" | "layer"
    files: list[FileSize]  # sorted by arcname
    dists: list[DistSize]  # largest (unzipped) first
    unzipped: int
    zipped: int  # sum of the members' compressed sizes (zip headers not included)
    budget_share: float  # unzipped / 262,144,000 (1.0 = the whole 250 MB)
    saved: int
    largest: list[FileSize]  # the `top` largest files, largest first


# --- measuring -------------------------------------------------------------------


def zip_member_sizes(path: Path) -> dict[str, tuple[int, int]]:
    """arcname -> (file_size, compress_size) of every file member, from the central
    directory only (zipfile reads just the directory on open; no member is read).

    Directory entries are skipped; a name listed twice keeps its last entry, which
    is the one an extractor ends up with.
    """
    out: dict[str, tuple[int, int]] = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            out[info.filename] = (info.file_size, info.compress_size)
    return out


def file_kind(arcname: str) -> str:
    """native (.so/.pyd/.dylib), python (.py/.pyi/Cython sources), bytecode (.pyc/.pyo) or data."""
    name = arcname.rsplit("/", 1)[-1].lower()
    if _NATIVE_RE.search(name):
        return "native"
    if name.endswith((".pyc", ".pyo")):
        return "bytecode"
    if name.endswith((".py", ".pyi", ".pyx", ".pxd", ".pxi")):
        return "python"
    return "data"


def _owner(arcname: str, owners: Mapping[str, str | None]) -> str | None:
    """The owner of `arcname`, else of its nearest listed parent folder."""
    got = owners.get(arcname)
    if got is not None:
        return got
    source = pyc_source(arcname)
    if source is not None and (got := owners.get(source)) is not None:
        return got
    parts = arcname.split("/")
    for i in range(len(parts) - 1, 0, -1):
        got = owners.get("/".join(parts[:i]))
        if got is not None:
            return got
    return None


def _canonical(label: str) -> str:
    """ "Python_Dateutil 2.9" -> "python-dateutil" (PEP 503 name of a "name version" label)."""
    return re.sub(r"[-_.]+", "-", label.split(" ", 1)[0]).lower()


def size_report(
    artifact_path: Path,
    kind: str,
    owners: Mapping[str, str | None],
    saved_by_dist: Mapping[str, int] | None = None,
    top: int = 20,
) -> SizeReport:
    """Measure `artifact_path` and attribute every file to a distribution.

    `owners` maps arcname (or a folder of arcnames) -> "name version", None for the
    user's code. `saved_by_dist` maps a distribution label (or just its name) -> bytes
    slimming removed; a distribution slimmed away entirely still gets a row.
    """
    sizes = zip_member_sizes(artifact_path)
    unowned = UNOWNED_FUNCTION if kind == "function" else UNOWNED_LAYER
    files = [FileSize(a, _owner(a, owners), u, z) for a, (u, z) in sorted(sizes.items())]

    count: Counter[str] = Counter()
    unz: Counter[str] = Counter()
    zipped: Counter[str] = Counter()
    for f in files:
        label = f.distribution or unowned
        count[label] += 1
        unz[label] += f.unzipped
        zipped[label] += f.zipped

    saved: Counter[str] = Counter()
    by_canonical = {_canonical(label): label for label in count}
    for key, n in (saved_by_dist or {}).items():
        label = key if key in count else by_canonical.get(_canonical(key), key)
        saved[label] += n

    names = set(count) | set(saved)
    dists = sorted(
        (DistSize(n, count[n], unz[n], zipped[n], saved[n]) for n in names),
        key=lambda d: (-d.unzipped, -d.saved, d.name),
    )
    total_unzipped = sum(f.unzipped for f in files)
    largest = sorted(files, key=lambda f: (-f.unzipped, f.arcname))[: max(top, 0)]
    return SizeReport(
        artifact=str(artifact_path),
        kind=kind,
        files=files,
        dists=dists,
        unzipped=total_unzipped,
        zipped=sum(f.zipped for f in files),
        budget_share=total_unzipped / UNZIPPED_BYTES,
        saved=sum(saved.values()),
        largest=largest,
    )


# --- text and JSON ---------------------------------------------------------------


def human(n: float) -> str:
    """Binary units: 0 B, 512 B, 1.5 KiB, 97.3 MiB."""
    if abs(n) < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _fit(text: str, width: int) -> str:
    """`text` in at most `width` characters, elided in the middle (paths keep both ends)."""
    if len(text) <= width:
        return text
    if width <= 3:
        return text[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def _bar(share: float, width: int) -> str:
    filled = min(width, round(min(share, 1.0) * width))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def render_table(rep: SizeReport, width: int = 100) -> str:
    """The report as plain text, at most `width` columns wide (no colour)."""
    width = max(width, 60)
    lines = [
        f"{rep.kind} {rep.artifact}",
        f"  {len(rep.files):,} files, {human(rep.unzipped)} unzipped, {human(rep.zipped)} zipped"
        + (f", slimming saved {human(rep.saved)}" if rep.saved else ""),
        f"  {_bar(rep.budget_share, 30)} {_pct(rep.budget_share)} of Lambda's 250 MB unzipped limit"
        + (" (OVER)" if rep.unzipped > UNZIPPED_BYTES else ""),
        "",
    ]
    num = 10  # width of a number column
    name_w = width - 2 - (7 + 1) - 3 * (num + 1) - (8 + 1)
    head = f"  {'distribution':<{name_w}} {'files':>7} {'unzipped':>{num}} {'zipped':>{num}} {'budget':>8} {'saved':>{num}}"
    lines.append(head)
    for d in rep.dists:
        lines.append(
            f"  {_fit(d.name, name_w):<{name_w}} {d.files:>7,} {human(d.unzipped):>{num}} "
            f"{human(d.zipped):>{num}} {_pct(d.unzipped / UNZIPPED_BYTES):>8} "
            f"{(human(d.saved) if d.saved else '-'):>{num}}"
        )
    lines.append(
        f"  {'total':<{name_w}} {len(rep.files):>7,} {human(rep.unzipped):>{num}} "
        f"{human(rep.zipped):>{num}} {_pct(rep.budget_share):>8} "
        f"{(human(rep.saved) if rep.saved else '-'):>{num}}"
    )
    if rep.largest:
        lines.append("")
        path_w = width - 2 - 2 * (num + 1)
        lines.append(
            f"  {f'largest {len(rep.largest)} files':<{path_w}} {'unzipped':>{num}} {'zipped':>{num}}"
        )
        for f in rep.largest:
            lines.append(
                f"  {_fit(f.arcname, path_w):<{path_w}} {human(f.unzipped):>{num}} {human(f.zipped):>{num}}"
            )
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _file_json(f: FileSize) -> dict[str, object]:
    return {
        "path": f.arcname,
        "distribution": f.distribution,
        "kind": file_kind(f.arcname),
        "unzipped_bytes": f.unzipped,
        "zipped_bytes": f.zipped,
    }


def _kind_totals(rep: SizeReport) -> dict[str, dict[str, int]]:
    out = {k: {"files": 0, "unzipped_bytes": 0, "zipped_bytes": 0} for k in KINDS}
    for f in rep.files:
        t = out[file_kind(f.arcname)]
        t["files"] += 1
        t["unzipped_bytes"] += f.unzipped
        t["zipped_bytes"] += f.zipped
    return out


def to_json(rep: SizeReport) -> dict[str, object]:
    """A JSON-ready summary (the per-file list is not included: see `largest`)."""
    return {
        "artifact": rep.artifact,
        "kind": rep.kind,
        "files": len(rep.files),
        "unzipped_bytes": rep.unzipped,
        "zipped_bytes": rep.zipped,
        "budget_bytes": UNZIPPED_BYTES,
        "budget_share": rep.budget_share,
        "saved_bytes": rep.saved,
        "distributions": [
            {
                "name": d.name,
                "files": d.files,
                "unzipped_bytes": d.unzipped,
                "zipped_bytes": d.zipped,
                "budget_share": d.unzipped / UNZIPPED_BYTES,
                "saved_bytes": d.saved,
            }
            for d in rep.dists
        ],
        "kinds": _kind_totals(rep),
        "largest": [_file_json(f) for f in rep.largest],
    }


# --- treemap layout ----------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return self.w * self.h


def _worst(row: Sequence[float], side: float) -> float:
    """The worst aspect ratio of `row` (areas) laid along a side of length `side`."""
    s = sum(row)
    if s <= 0 or side <= 0:
        return float("inf")
    return max(side * side * max(row) / (s * s), s * s / (side * side * min(row)))


def squarify(sizes: Sequence[float], x: float, y: float, w: float, h: float) -> list[Rect]:
    """Squarified treemap (Bruls, Huizing, van Wijk 2000) of `sizes` in (x, y, w, h).

    Returns one Rect per size, in the order given; areas are proportional to the
    sizes and the rectangles tile the box exactly (the last of each row, and the
    last row, take up what floating-point rounding leaves). Sizes <= 0 get an empty
    rectangle at the box's far corner.
    """
    out: list[Rect | None] = [None] * len(sizes)
    order = sorted((i for i, s in enumerate(sizes) if s > 0), key=lambda i: -sizes[i])
    total = sum(sizes[i] for i in order)
    for i, s in enumerate(sizes):
        if s <= 0:
            out[i] = Rect(x + w, y + h, 0.0, 0.0)
    if not order or w <= 0 or h <= 0:
        for i in order:
            out[i] = Rect(x, y, 0.0, 0.0)
        return [r if r is not None else Rect(x, y, 0.0, 0.0) for r in out]
    scale = w * h / total
    areas = {i: sizes[i] * scale for i in order}
    x1, y1 = x + w, y + h  # the far corner never moves
    k = 0
    while k < len(order):
        cw, ch = x1 - x, y1 - y
        side = min(cw, ch)
        row = [order[k]]
        k += 1
        while k < len(order):
            cand = [*row, order[k]]
            if _worst([areas[i] for i in cand], side) > _worst([areas[i] for i in row], side):
                break
            row = cand
            k += 1
        last_row = k == len(order)
        s = sum(areas[i] for i in row)
        if cw >= ch:  # a column on the left, items stacked top to bottom
            col_w = cw if last_row else min(s / ch, cw)
            cy = y
            for j, i in enumerate(row):
                ih = y1 - cy if j == len(row) - 1 else areas[i] / col_w
                out[i] = Rect(x, cy, col_w, ih)
                cy += ih
            x += col_w
        else:  # a row along the top, items left to right
            row_h = ch if last_row else min(s / cw, ch)
            cx = x
            for j, i in enumerate(row):
                iw = x1 - cx if j == len(row) - 1 else areas[i] / row_h
                out[i] = Rect(cx, y, iw, row_h)
                cx += iw
            y += row_h
    return [r if r is not None else Rect(x, y, 0.0, 0.0) for r in out]


@dataclass
class _Node:
    name: str  # label shown (folder chain "a/b", file name, distribution label)
    path: str  # full path shown on hover
    dist: int  # index into SizeReport.dists, -1 for mixed
    children: dict[str, _Node] = field(default_factory=dict)
    file: FileSize | None = None
    is_dist: bool = False
    unzipped: int = 0
    zipped: int = 0
    nfiles: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, f: FileSize) -> None:
        self.unzipped += f.unzipped
        self.zipped += f.zipped
        self.nfiles += 1
        self.kinds[file_kind(f.arcname)] += max(f.unzipped, 1)

    @property
    def kind(self) -> str:
        return self.kinds.most_common(1)[0][0] if self.kinds else "data"


def _site_prefix(files: Sequence[FileSize]) -> str:
    """The site-packages root shared by every file ("python/" in a layer), else ""."""
    prefixes = {m.group(1) if (m := _SITE_ROOT_RE.match(f.arcname)) else "" for f in files}
    return prefixes.pop() if len(prefixes) == 1 else ""


def _tree(rep: SizeReport) -> _Node:
    unowned = UNOWNED_FUNCTION if rep.kind == "function" else UNOWNED_LAYER
    index = {d.name: i for i, d in enumerate(rep.dists)}
    prefix = _site_prefix(rep.files)
    root = _Node("", "", -1)
    for f in rep.files:
        d = index[f.distribution or unowned]
        node = root.children.setdefault(str(d), _Node(rep.dists[d].name, rep.dists[d].name, d, is_dist=True))
        node.add(f)
        rel = f.arcname[len(prefix) :]
        parts = rel.split("/")
        for i, part in enumerate(parts[:-1]):
            node = node.children.setdefault(
                part + "/", _Node(part + "/", prefix + "/".join(parts[: i + 1]) + "/", d)
            )
            node.add(f)
        leaf = _Node(parts[-1], f.arcname, d, file=f)
        leaf.add(f)
        node.children[parts[-1]] = leaf
        root.add(f)
    for child in root.children.values():
        _collapse(child)
    return root


def _collapse(node: _Node) -> None:
    """Merge single-folder chains (a/ -> b/ -> files) into one "a/b/" frame."""
    for key, child in list(node.children.items()):
        while child.file is None and len(child.children) == 1:
            (only,) = child.children.values()
            if only.file is not None:
                break
            only.name = child.name + only.name
            child = only
        node.children[key] = child
        _collapse(child)


# Cell types in the page's data: a distribution frame, a folder frame, a file, a
# folder too small to open (drawn as one cell), the small files of a folder grouped.
T_DIST, T_DIR, T_FILE, T_FOLDED, T_OTHER = "d", "f", "l", "g", "o"
_DIST_HEAD, _DIR_HEAD, _PAD = 18.0, 14.0, 1.5


@dataclass(frozen=True)
class Cell:
    rect: Rect
    type: str
    dist: int
    kind: str
    unzipped: int
    zipped: int
    files: int
    label: str
    path: str
    depth: int

    def as_list(self) -> list[object]:
        r = self.rect
        return [
            round(r.x, 2),
            round(r.y, 2),
            round(r.w, 2),
            round(r.h, 2),
            self.type,
            self.dist,
            KINDS.index(self.kind),
            self.unzipped,
            self.zipped,
            self.files,
            self.label,
            self.path,
            self.depth,
        ]


def _layout_children(parent: _Node, box: Rect, depth: int, min_area: float, out: list[Cell]) -> None:
    kids = sorted(parent.children.values(), key=lambda n: (-n.unzipped, n.name))
    kids = [k for k in kids if k.unzipped > 0]
    total = sum(k.unzipped for k in kids)
    if not kids or box.w <= 0 or box.h <= 0:
        return
    big = [k for k in kids if k.unzipped / total * box.area >= min_area]
    small = kids[len(big) :]  # kids are sorted largest first, so the small ones are a tail
    groups: list[_Node | list[_Node]] = list(big)
    if len(small) == 1:
        groups.append(small[0])
    elif small:
        groups.append(small)
    sizes = [sum(n.unzipped for n in g) if isinstance(g, list) else g.unzipped for g in groups]
    for g, r in zip(groups, squarify(sizes, box.x, box.y, box.w, box.h), strict=True):
        if isinstance(g, list):
            other = _Node("", "", parent.dist)
            for n in g:
                other.unzipped += n.unzipped
                other.zipped += n.zipped
                other.nfiles += n.nfiles
                other.kinds.update(n.kinds)
            base = parent.path if parent.file is None and parent.path.endswith("/") else ""
            what = "distributions" if parent.dist < 0 else "files"
            out.append(
                Cell(
                    r,
                    T_OTHER,
                    parent.dist,
                    other.kind,
                    other.unzipped,
                    other.zipped,
                    other.nfiles,
                    f"other ({other.nfiles} {what})",
                    f"{base}… {len(g)} smaller entries",
                    depth,
                )
            )
        else:
            _layout_node(g, r, depth, min_area, out)


def _layout_node(node: _Node, r: Rect, depth: int, min_area: float, out: list[Cell]) -> None:
    if node.file is not None:
        out.append(
            Cell(r, T_FILE, node.dist, node.kind, node.unzipped, node.zipped, 1, node.name, node.path, depth)
        )
        return
    is_dist = node.is_dist
    head = _DIST_HEAD if is_dist else _DIR_HEAD
    # Too small to show its children: one cell for the whole folder.
    folded = r.w < 40 or r.h < head + 12
    kind = T_FOLDED if folded else T_DIST if is_dist else T_DIR
    out.append(
        Cell(r, kind, node.dist, node.kind, node.unzipped, node.zipped, node.nfiles, node.name, node.path, depth)
    )
    if folded:
        return
    pad = _PAD
    inner = Rect(r.x + pad, r.y + head, max(r.w - 2 * pad, 0.0), max(r.h - head - pad, 0.0))
    _layout_children(node, inner, depth + 1, min_area, out)


def treemap_cells(
    rep: SizeReport,
    width: float = 1200,
    height: float = 640,
    *,
    dist: int | None = None,
    max_cells: int = 2500,
) -> list[Cell]:
    """The treemap of `rep` (or of its distribution number `dist`) in a width x height box.

    Files smaller than a few square units are grouped per folder into one
    "other (N files)" cell, more aggressively until at most `max_cells` remain.
    """
    root = _tree(rep)
    min_area = 36.0
    while True:
        out: list[Cell] = []
        box = Rect(0.0, 0.0, float(width), float(height))
        if dist is None:
            _layout_children(root, box, 0, min_area, out)
        elif str(dist) in root.children:
            _layout_node(root.children[str(dist)], box, 0, min_area, out)
        if len(out) <= max_cells or min_area > width * height:
            return out
        min_area *= 2


# --- HTML ----------------------------------------------------------------------------

_DIST_COLOURS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#86bcb6",
    "#d37295",
    "#a0cbe8",
)
_OTHER_COLOUR = "#bab0ac"
_KIND_COLOURS = {"native": "#d1495b", "python": "#3d7ab8", "bytecode": "#8e6bbf", "data": "#8aa37b"}
_KIND_NAMES = {
    "native": "native code (.so)",
    "python": "Python source",
    "bytecode": "bytecode (.pyc)",
    "data": "data and metadata",
}
_W, _H = 1200, 640


def dist_colour(i: int) -> str:
    return _DIST_COLOURS[i] if 0 <= i < len(_DIST_COLOURS) else _OTHER_COLOUR


def _script_json(data: object) -> str:
    """JSON safe inside <script>: no "<", ">" or "&" survives (so no "</script>")."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page_data(reports: Sequence[SizeReport]) -> dict[str, object]:
    out = []
    for rep in reports:
        zoom = {
            str(i): [c.as_list() for c in treemap_cells(rep, _W, _H, dist=i)]
            for i, d in enumerate(rep.dists)
            if d.files > 1
        }
        out.append(
            {
                "artifact": rep.artifact,
                "kind": rep.kind,
                "unzipped": rep.unzipped,
                "zipped": rep.zipped,
                "files": len(rep.files),
                "dists": [
                    [d.name, d.files, d.unzipped, d.zipped, d.saved, dist_colour(i)]
                    for i, d in enumerate(rep.dists)
                ],
                "cells": [c.as_list() for c in treemap_cells(rep, _W, _H)],
                "zoom": zoom,
                "kinds": [
                    [t["files"], t["unzipped_bytes"], t["zipped_bytes"]] for t in _kind_totals(rep).values()
                ],
            }
        )
    return {
        "version": 1,
        "budget": UNZIPPED_BYTES,
        "width": _W,
        "height": _H,
        "kinds": [[k, _KIND_NAMES[k], _KIND_COLOURS[k]] for k in KINDS],
        "reports": out,
    }


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _budget_bar(rep: SizeReport) -> str:
    segs = []
    shown = 0.0
    for i, d in enumerate(rep.dists):
        share = d.unzipped / UNZIPPED_BYTES
        if share <= 0:
            continue
        width = min(share, max(0.0, 1.0 - shown)) * 100
        shown += share
        if width <= 0:
            break
        segs.append(
            f'<span class="seg" style="width:{width:.3f}%;background:{dist_colour(i)}" '
            f'title="{_e(d.name)}: {_e(human(d.unzipped))} ({_pct(share)})"></span>'
        )
    over = rep.unzipped > UNZIPPED_BYTES
    left = UNZIPPED_BYTES - rep.unzipped
    return (
        f'<div class="budget{" over" if over else ""}">'
        f'<div class="budget-text"><strong>{_pct(rep.budget_share)}</strong> of Lambda\'s 250 MB unzipped limit'
        f" &middot; {_e(human(rep.unzipped))} of {_e(human(UNZIPPED_BYTES))}"
        f" &middot; {'over by ' + _e(human(-left)) if over else _e(human(left)) + ' left'}</div>"
        f'<div class="bar" role="img" aria-label="{_pct(rep.budget_share)} of the 250 MB limit">'
        f"{''.join(segs)}</div></div>"
    )


def _cards(rep: SizeReport) -> str:
    ratio = f"{rep.zipped / rep.unzipped * 100:.0f}% of unzipped" if rep.unzipped else ""
    items = [
        ("Unzipped", human(rep.unzipped), f"{rep.unzipped:,} bytes"),
        ("Zipped", human(rep.zipped), ratio),
        ("Files", f"{len(rep.files):,}", f"{sum(1 for d in rep.dists if d.files)} distributions"),
        (
            "Saved by slimming",
            human(rep.saved) if rep.saved else "0 B",
            f"{rep.saved / (rep.unzipped + rep.saved) * 100:.1f}% smaller"
            if rep.saved
            else "nothing removed",
        ),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div>'
            f'<div class="s">{_e(s)}</div></div>'
            for k, v, s in items
        )
        + "</div>"
    )


def _dist_table(rep: SizeReport) -> str:
    rows = []
    for i, d in enumerate(rep.dists):
        share = d.unzipped / UNZIPPED_BYTES
        rows.append(
            f'<tr><td class="nw"><span class="sw" style="background:{dist_colour(i)}"></span>{_e(d.name)}</td>'
            f'<td class="n">{d.files:,}</td><td class="n">{_e(human(d.unzipped))}</td>'
            f'<td class="n">{_e(human(d.zipped))}</td>'
            f'<td class="n"><span class="mini"><span style="width:{min(share, 1) * 100:.2f}%;'
            f'background:{dist_colour(i)}"></span></span>'
            f"{_pct(share)}</td>"
            f'<td class="n">{_e(human(d.saved)) if d.saved else "&ndash;"}</td></tr>'
        )
    rows.append(
        f'<tr class="total"><td>total</td><td class="n">{len(rep.files):,}</td>'
        f'<td class="n">{_e(human(rep.unzipped))}</td><td class="n">{_e(human(rep.zipped))}</td>'
        f'<td class="n">{_pct(rep.budget_share)}</td>'
        f'<td class="n">{_e(human(rep.saved)) if rep.saved else "&ndash;"}</td></tr>'
    )
    return (
        '<table class="dists"><caption>Distributions</caption><thead><tr><th>distribution</th>'
        '<th class="n">files</th><th class="n">unzipped</th><th class="n">zipped</th>'
        '<th class="n">of 250 MB</th><th class="n">saved by slimming</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _largest_table(rep: SizeReport) -> str:
    unowned = UNOWNED_FUNCTION if rep.kind == "function" else UNOWNED_LAYER
    index = {d.name: i for i, d in enumerate(rep.dists)}
    rows = []
    for n, f in enumerate(rep.largest, start=1):
        kind = file_kind(f.arcname)
        d = index.get(f.distribution or unowned, -1)
        rows.append(
            f'<tr><td class="n">{n}</td><td class="path" title="{_e(f.arcname)}">{_e(f.arcname)}</td>'
            f'<td class="nw"><span class="sw" style="background:{dist_colour(d)}"></span>{_e(f.distribution or unowned)}</td>'
            f'<td class="nw"><span class="sw" style="background:{_KIND_COLOURS[kind]}"></span>{_e(kind)}</td>'
            f'<td class="n">{_e(human(f.unzipped))}</td><td class="n">{_e(human(f.zipped))}</td></tr>'
        )
    return (
        f'<table class="largest"><caption>Largest {len(rep.largest)} files</caption><thead><tr>'
        '<th class="n">#</th><th>path</th><th>distribution</th><th>kind</th><th class="n">unzipped</th>'
        f'<th class="n">zipped</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


_CSS = """
:root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff;--accent:#3d7ab8}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:20px;margin:0 0 2px}
h2{font-size:16px;margin:0}
.sub{color:var(--muted);margin:0 0 16px}
section.report{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin:0 0 20px}
.rhead{display:flex;align-items:baseline;gap:10px;flex-wrap:wrap;margin-bottom:10px}
.tag{font-size:12px;text-transform:uppercase;letter-spacing:.04em;background:#eef2f7;color:#344054;border-radius:4px;padding:1px 6px}
.mono,.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:10px 0 14px}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.card .k{color:var(--muted);font-size:12px}
.card .v{font-size:22px;font-weight:600}
.card .s{color:var(--muted);font-size:12px}
.budget-text{margin-bottom:4px}
.bar{display:flex;height:16px;border-radius:5px;background:repeating-linear-gradient(45deg,#eef0f3,#eef0f3 6px,#e6e9ee 6px,#e6e9ee 12px);overflow:hidden;border:1px solid #d0d5dd}
.bar .seg{display:block;height:100%;border-right:1px solid rgba(255,255,255,.7)}
.budget.over .bar{border-color:#d92d20;box-shadow:0 0 0 2px #fecdca}
.budget.over strong{color:#d92d20}
.toolbar{display:flex;align-items:center;gap:8px;margin:16px 0 8px;flex-wrap:wrap}
.toolbar .crumbs{flex:1;min-width:200px;font-weight:600}
.toolbar .crumbs a{color:var(--accent);cursor:pointer;text-decoration:underline}
.seg-btns button{font:inherit;font-size:13px;border:1px solid #d0d5dd;background:#fff;padding:3px 10px;cursor:pointer}
.seg-btns button:first-child{border-radius:6px 0 0 6px}
.seg-btns button:last-child{border-radius:0 6px 6px 0;border-left:0}
.seg-btns button.on{background:#1d2330;color:#fff;border-color:#1d2330}
.tm{position:relative;width:100%;background:#fff;border:1px solid #d0d5dd;border-radius:4px;overflow:hidden;user-select:none}
.tm .cell{position:absolute;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;font-size:11px;line-height:13px;padding:1px 3px;border:1px solid rgba(255,255,255,.85);color:#fff}
.tm .cell.frame{background:rgba(255,255,255,.0);border:1px solid rgba(29,35,48,.22);color:#1d2330;font-weight:600}
.tm .cell.dist{border:2px solid rgba(29,35,48,.55);font-size:12px;line-height:15px;background:#f9fafb;cursor:zoom-in}
.tm .cell.dist.zoomed{cursor:default}
.tm .cell.dir{background:rgba(255,255,255,.35);font-weight:500}
.tm .cell.leaf.dark{color:#1d2330}
.tm .cell.other{background-image:repeating-linear-gradient(135deg,rgba(255,255,255,.28) 0 3px,transparent 3px 7px)}
.tm .cell.leaf:hover{outline:2px solid #1d2330;z-index:2}
.tm .cell .sz{opacity:.85;font-weight:400}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:8px 0 4px;font-size:12.5px}
.legend span.item{display:inline-flex;align-items:center;gap:5px}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.legend .sw{margin-right:0}
.tables{display:grid;grid-template-columns:1fr;gap:22px;margin-top:18px}
td.nw{white-space:nowrap}
table{border-collapse:collapse;width:100%;font-size:13px}
caption{text-align:left;font-weight:600;font-size:14px;padding:0 0 6px}
th{color:var(--muted);font-weight:500;text-align:left;border-bottom:1px solid var(--line);padding:4px 6px}
td{border-bottom:1px solid #f0f2f5;padding:3px 6px;vertical-align:middle}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.path{max-width:760px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
tr.total td{font-weight:600;border-top:1px solid var(--line)}
.mini{display:inline-block;width:48px;height:6px;background:#eef0f3;border-radius:3px;margin-right:6px;vertical-align:1px;overflow:hidden}
.mini span{display:block;height:100%;background:var(--accent)}
#tip{position:fixed;pointer-events:none;z-index:10;background:#1d2330;color:#fff;border-radius:6px;padding:7px 9px;font-size:12px;max-width:520px;box-shadow:0 4px 16px rgba(0,0,0,.25);display:none}
#tip .p{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all;margin-bottom:4px}
#tip table{font-size:12px;width:auto}
#tip td{border:0;padding:0 10px 0 0;color:#fff}
#tip td.k{color:#aab2c0}
.hint{color:var(--muted);font-size:12px}
footer{color:var(--muted);font-size:12px;text-align:center}
@media (max-width:900px){.cards{grid-template-columns:repeat(2,1fr)}.tables{grid-template-columns:1fr}}
"""

_JS = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("lambdapack-report-data").textContent);
  var KINDS = DATA.kinds;
  var tip = document.getElementById("tip");
  function human(n) {
    if (n < 1024) return n + " B";
    var u = ["KiB", "MiB", "GiB"], i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < 2);
    return n.toFixed(1) + " " + u[i];
  }
  function grp(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function hex(c) { return [1, 3, 5].map(function (i) { return parseInt(c.substr(i, 2), 16); }); }
  function mix(c, t, f) {  // colour c moved towards colour t by f (0..1), as #rrggbb
    var a = hex(c), b = hex(t);
    return "#" + a.map(function (v, i) { return Math.round(v + (b[i] - v) * f).toString(16).padStart(2, "0"); }).join("");
  }
  function light(c) { var a = hex(c); return (0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]) > 165; }
  // Shade of a distribution's colour per kind, so both stay readable at once.
  var KIND_SHADE = [["#000000", 0.22], ["#ffffff", 0.0], ["#ffffff", 0.3], ["#ffffff", 0.5]];
  var TYPE_NAME = {d: "distribution", f: "folder", l: "file", g: "folder", o: "small files"};

  function render(sec) {
    var R = DATA.reports[+sec.getAttribute("data-report")];
    var tm = sec.querySelector(".tm"), legend = sec.querySelector(".legend"),
        crumbs = sec.querySelector(".crumbs"), btns = sec.querySelectorAll(".seg-btns button");
    // The initial view can be picked in the address: report.html#colour=kind&zoom=0
    var opts = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var p = kv.split("="); if (p[0]) opts[p[0]] = decodeURIComponent(p[1] || "");
    });
    var state = {mode: opts.colour === "kind" ? "kind" : "dist",
                 zoom: opts.zoom !== undefined && R.zoom[opts.zoom] ? opts.zoom : null};
    btns.forEach(function (o) { o.classList.toggle("on", o.getAttribute("data-mode") === state.mode); });
    tm.style.aspectRatio = DATA.width + " / " + DATA.height;

    function colour(c) {
      var k = KINDS[c[6]][2];
      if (state.mode === "kind") return c[4] === "o" ? mix(k, "#ffffff", 0.25) : k;
      var base = c[5] >= 0 && R.dists[c[5]] ? R.dists[c[5]][5] : "#bab0ac";
      var s = KIND_SHADE[c[6]];
      return mix(base, s[0], s[1]);
    }
    function draw() {
      var cells = state.zoom === null ? R.cells : R.zoom[state.zoom];
      var px = tm.clientWidth / DATA.width;
      var frag = document.createDocumentFragment();
      cells.forEach(function (c, i) {
        var el = document.createElement("div"), t = c[4];
        el.className = "cell " + (t === "d" ? "frame dist" : t === "f" ? "frame dir" : "leaf") + (t === "o" ? " other" : "");
        if (state.zoom !== null && t === "d") el.className += " zoomed";
        el.style.left = (c[0] / DATA.width * 100) + "%";
        el.style.top = (c[1] / DATA.height * 100) + "%";
        el.style.width = (c[2] / DATA.width * 100) + "%";
        el.style.height = (c[3] / DATA.height * 100) + "%";
        el.setAttribute("data-i", i);
        if (t === "d" || t === "f" || t === "g" || t === "l" || t === "o") {
          var w = c[2] * px, h = c[3] * px;
          if (t !== "d" && t !== "f") {
            var bg = colour(c);
            el.style.background = bg;
            if (t === "o") el.style.backgroundImage = "repeating-linear-gradient(135deg,rgba(255,255,255,.3) 0 3px,transparent 3px 7px)";
            if (light(bg)) el.className += " dark";
          } else if (t === "d" && state.mode === "dist") {
            el.style.borderColor = R.dists[c[5]] ? R.dists[c[5]][5] : "#bab0ac";
          }
          if (w > 34 && h > 12) {
            el.textContent = c[10];
            if ((t === "d" || t === "f" || h > 28) && w > 90) {
              var sz = document.createElement("span");
              sz.className = "sz";
              sz.textContent = (t === "l" || t === "d" || t === "f" ? " " : " ") + human(c[7]);
              if (t !== "d" && t !== "f") { el.appendChild(document.createElement("br")); }
              el.appendChild(sz);
            }
          }
        }
        frag.appendChild(el);
      });
      tm.textContent = "";
      tm.appendChild(frag);
      drawLegend();
      drawCrumbs();
    }
    function drawLegend() {
      legend.textContent = "";
      var items = [];
      if (state.mode === "kind") {
        KINDS.forEach(function (k, i) {
          var t = R.kinds[i];
          if (t[0] > 0) items.push([k[2], k[1], human(t[1]) + " in " + grp(t[0]) + " files"]);
        });
        legend.setAttribute("data-mode", "kind");
      } else {
        R.dists.forEach(function (d, i) { if (d[2] > 0) items.push([d[5], d[0], human(d[2])]); });
        legend.setAttribute("data-mode", "dist");
      }
      items.forEach(function (it) {
        var s = document.createElement("span"), sw = document.createElement("span");
        s.className = "item"; sw.className = "sw"; sw.style.background = it[0];
        s.appendChild(sw);
        s.appendChild(document.createTextNode(it[1] + (it[2] ? " \u00b7 " + it[2] : "")));
        legend.appendChild(s);
      });
      var h = document.createElement("span");
      h.className = "item hint";
      h.textContent = (state.mode === "dist" ? "darker = native code, lighter = bytecode / data; " : "") +
        "striped = small files grouped";
      legend.appendChild(h);
    }
    function drawCrumbs() {
      crumbs.textContent = "";
      if (state.zoom === null) {
        crumbs.appendChild(document.createTextNode("All distributions"));
        var hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = "  \u2014 click a distribution to zoom in; hover for sizes";
        crumbs.appendChild(hint);
      } else {
        var a = document.createElement("a");
        a.textContent = "All distributions";
        a.addEventListener("click", function () { state.zoom = null; draw(); });
        crumbs.appendChild(a);
        crumbs.appendChild(document.createTextNode(" \u203a " + R.dists[+state.zoom][0]));
      }
    }
    tm.addEventListener("click", function (ev) {
      var el = ev.target.closest(".cell");
      if (!el || state.zoom !== null) return;
      var c = R.cells[+el.getAttribute("data-i")];
      if (c && c[5] >= 0 && R.zoom[String(c[5])]) { state.zoom = String(c[5]); tip.style.display = "none"; draw(); }
    });
    tm.addEventListener("mousemove", function (ev) {
      var el = ev.target.closest(".cell");
      if (!el) { tip.style.display = "none"; return; }
      var cells = state.zoom === null ? R.cells : R.zoom[state.zoom];
      var c = cells[+el.getAttribute("data-i")];
      showTip(c, ev.clientX, ev.clientY);
    });
    tm.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    btns.forEach(function (b) {
      b.addEventListener("click", function () {
        state.mode = b.getAttribute("data-mode");
        btns.forEach(function (o) { o.classList.toggle("on", o === b); });
        draw();
      });
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && state.zoom !== null) { state.zoom = null; draw(); }
    });
    window.addEventListener("resize", draw);

    function showTip(c, x, y) {
      tip.textContent = "";
      var p = document.createElement("div");
      p.className = "p";
      p.textContent = c[11];
      tip.appendChild(p);
      var rows = [["type", TYPE_NAME[c[4]] + (c[9] > 1 ? " \u00b7 " + grp(c[9]) + " files" : "")],
                  ["distribution", c[5] >= 0 && R.dists[c[5]] ? R.dists[c[5]][0] : "several"],
                  ["kind", KINDS[c[6]][1] + (c[4] === "l" ? "" : " (mostly)")],
                  ["unzipped", human(c[7]) + "  (" + grp(c[7]) + " B, " + (c[7] / DATA.budget * 100).toFixed(2) + "% of 250 MB)"],
                  ["zipped", human(c[8]) + "  (" + grp(c[8]) + " B" + (c[7] ? ", " + Math.round(c[8] / c[7] * 100) + "%" : "") + ")"]];
      var t = document.createElement("table");
      rows.forEach(function (r) {
        var tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
        a.className = "k"; a.textContent = r[0]; b.textContent = r[1];
        tr.appendChild(a); tr.appendChild(b); t.appendChild(tr);
      });
      tip.appendChild(t);
      tip.style.display = "block";
      var w = tip.offsetWidth, h = tip.offsetHeight;
      tip.style.left = Math.min(x + 14, window.innerWidth - w - 8) + "px";
      tip.style.top = (y + 16 + h > window.innerHeight ? y - h - 10 : y + 16) + "px";
    }
    draw();
  }
  document.querySelectorAll("section.report").forEach(render);
})();
"""


def render_html(reports: Sequence[SizeReport], title: str) -> str:
    """One self-contained page (inline CSS and JS, no network) for the given reports."""
    sections = []
    for n, rep in enumerate(reports):
        sections.append(
            f'<section class="report" data-report="{n}">'
            f'<div class="rhead"><span class="tag">{_e(rep.kind)}</span><h2 class="mono">{_e(rep.artifact)}</h2></div>'
            f"{_budget_bar(rep)}{_cards(rep)}"
            '<div class="toolbar"><div class="crumbs"></div><span class="hint">colour by</span>'
            '<div class="seg-btns"><button type="button" class="on" data-mode="dist">distribution</button>'
            '<button type="button" data-mode="kind">kind</button></div></div>'
            '<div class="tm" role="img" aria-label="treemap of the package: area is unzipped size"></div>'
            '<div class="legend"></div>'
            '<noscript><p class="hint">The treemap needs JavaScript; the tables below do not.</p></noscript>'
            f'<div class="tables">{_dist_table(rep)}{_largest_table(rep)}</div>'
            "</section>"
        )
    total = sum(r.unzipped for r in reports)
    sub = (
        f"{len(reports)} artifacts, {human(total)} unzipped together "
        f"({_pct(total / UNZIPPED_BYTES)} of the 250 MB limit, which counts a function and its layers together)"
        if len(reports) > 1
        else "Area in the treemap is unzipped size; the 250 MB limit is Lambda's, for a function and its layers unzipped."
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<h1>{_e(title)}</h1><p class="sub">{_e(sub)}</p>'
        f"{''.join(sections)}"
        "<footer>generated by lambdapack &middot; this file loads nothing from the network</footer>"
        '</main><div id="tip"></div>'
        f'<script type="application/json" id="lambdapack-report-data">{_script_json(_page_data(reports))}</script>'
        f"<script>{_JS}</script></body></html>\n"
    )
