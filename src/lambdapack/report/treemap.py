"""The treemap of a size report: the package as a tree, laid out as nested rectangles.

The layout is computed here, in Python (`squarify`), so the page's script only draws
rectangles and the layout is unit-tested.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from lambdapack.report.sizes import KINDS, FileSize, SizeReport, file_kind, unowned_label

__all__ = ["T_DIR", "T_DIST", "T_FILE", "T_FOLDED", "T_OTHER", "Cell", "Rect", "squarify", "treemap_cells"]

# Where dependencies live inside a layer (or a function zip: at the root).
_SITE_ROOT_RE = re.compile(r"^(python/lib/python\d+\.\d+/site-packages/|python/)")


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
    unowned = unowned_label(rep.kind)
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
