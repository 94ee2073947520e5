"""The size reports as one self-contained HTML page (`--report report.html`).

The page embeds its data as JSON, its CSS and its script (the files in `assets/`,
shipped as package data), so it loads nothing from the network; the script only
draws the rectangles `report.treemap` laid out.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.report.about import about_html
from lambdapack.report.sizes import KINDS, SizeReport, file_kind, unowned_label
from lambdapack.report.summary import kind_totals
from lambdapack.report.treemap import treemap_cells
from lambdapack.units import human, limit, percent

__all__ = ["dist_colour", "page_title", "render_html"]

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
    """The colour of distribution number `i` (largest first); the long tail shares one."""
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
                    [t["files"], t["unzipped_bytes"], t["zipped_bytes"]] for t in kind_totals(rep).values()
                ],
            }
        )
    return {
        "version": 1,
        "budget": UNZIPPED_BYTES,
        "budget_label": limit(UNZIPPED_BYTES),
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
            f'title="{_e(d.name)}: {_e(human(d.unzipped))} ({percent(share)})"></span>'
        )
    over = rep.unzipped > UNZIPPED_BYTES
    left = UNZIPPED_BYTES - rep.unzipped
    return (
        f'<div class="budget{" over" if over else ""}">'
        f'<div class="budget-text"><strong>{percent(rep.budget_share)}</strong> of Lambda\'s {limit(UNZIPPED_BYTES)} unzipped limit'
        f" &middot; {_e(human(rep.unzipped))} of {_e(human(UNZIPPED_BYTES))}"
        f" &middot; {'over by ' + _e(human(-left)) if over else _e(human(left)) + ' left'}</div>"
        f'<div class="bar" role="img" aria-label="{percent(rep.budget_share)} of the {limit(UNZIPPED_BYTES)} limit">'
        f"{''.join(segs)}</div></div>"
    )


def _zipped(rep: SizeReport, n: int) -> str:
    """A zipped size, or "not packed" in a report of a build that stopped before its zip."""
    return human(n) if rep.packed else "not packed"


def _cards(rep: SizeReport) -> str:
    ratio = f"{rep.zipped / rep.unzipped * 100:.0f}% of unzipped" if rep.unzipped else ""
    if not rep.packed:
        ratio = "the build stopped before the zip"
    items = [
        ("Unzipped", human(rep.unzipped), f"{rep.unzipped:,} bytes"),
        ("Zipped", _zipped(rep, rep.zipped), ratio),
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
            f'<td class="n">{_e(_zipped(rep, d.zipped))}</td>'
            f'<td class="n"><span class="mini"><span style="width:{min(share, 1) * 100:.2f}%;'
            f'background:{dist_colour(i)}"></span></span>'
            f"{percent(share)}</td>"
            f'<td class="n">{_e(human(d.saved)) if d.saved else "&ndash;"}</td></tr>'
        )
    rows.append(
        f'<tr class="total"><td>total</td><td class="n">{len(rep.files):,}</td>'
        f'<td class="n">{_e(human(rep.unzipped))}</td><td class="n">{_e(_zipped(rep, rep.zipped))}</td>'
        f'<td class="n">{percent(rep.budget_share)}</td>'
        f'<td class="n">{_e(human(rep.saved)) if rep.saved else "&ndash;"}</td></tr>'
    )
    return (
        '<table class="dists"><caption>Distributions</caption><thead><tr><th>distribution</th>'
        '<th class="n">files</th><th class="n">unzipped</th><th class="n">zipped</th>'
        f'<th class="n">of {limit(UNZIPPED_BYTES)}</th><th class="n">saved by slimming</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _largest_table(rep: SizeReport) -> str:
    unowned = unowned_label(rep.kind)
    index = {d.name: i for i, d in enumerate(rep.dists)}
    rows = []
    for n, f in enumerate(rep.largest, start=1):
        kind = file_kind(f.arcname)
        d = index.get(f.distribution or unowned, -1)
        rows.append(
            f'<tr><td class="n">{n}</td><td class="path" title="{_e(f.arcname)}">{_e(f.arcname)}</td>'
            f'<td class="nw"><span class="sw" style="background:{dist_colour(d)}"></span>{_e(f.distribution or unowned)}</td>'
            f'<td class="nw"><span class="sw" style="background:{_KIND_COLOURS[kind]}"></span>{_e(kind)}</td>'
            f'<td class="n">{_e(human(f.unzipped))}</td><td class="n">{_e(_zipped(rep, f.zipped))}</td></tr>'
        )
    return (
        f'<table class="largest"><caption>Largest {len(rep.largest)} files</caption><thead><tr>'
        '<th class="n">#</th><th>path</th><th>distribution</th><th>kind</th><th class="n">unzipped</th>'
        f'<th class="n">zipped</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def page_title(reports: Sequence[SizeReport], project: str | None = None) -> str:
    """Named after what it reports on: "api.zip — lambdapack size report"; for several artifacts
    the project's name (when given) and their count."""
    what = (
        Path(reports[0].artifact).name if len(reports) == 1
        else f"{project}: {len(reports)} artifacts" if project and reports
        else f"{len(reports)} artifacts" if reports
        else project or ""
    )
    return f"{what} — lambdapack size report" if what else "lambdapack size report"


def render_html(reports: Sequence[SizeReport], *, project: str | None = None) -> str:
    """One self-contained page (inline CSS and JS, no network) for the given reports, titled by
    `page_title` (after the artifact, or `project` for a project's page)."""
    title = page_title(reports, project)
    sections = []
    for n, rep in enumerate(reports):
        sections.append(
            f'<section class="report" data-report="{n}">'
            f'<div class="rhead"><span class="tag">{_e(rep.kind)}</span><h2 class="mono">{_e(rep.artifact)}</h2></div>'
            f"{about_html(rep)}{_budget_bar(rep)}{_cards(rep)}"
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
        # Not one share of the limit: a project's functions are not counted together, each is
        # counted with its own layers (each section's limits say how much that is).
        f"{len(reports)} artifacts, {human(total)} unzipped in all; Lambda's {limit(UNZIPPED_BYTES)} limit "
        "counts each function with its layers: each artifact's limits are below"
        if len(reports) > 1
        else f"Area in the treemap is unzipped size; the {limit(UNZIPPED_BYTES)} limit is Lambda's, for a function "
        "and its layers unzipped."
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>\n{_asset('report.css')}</style></head><body><main>"
        f'<h1>{_e(title)}</h1><p class="sub">{_e(sub)}</p>'
        f"{''.join(sections)}"
        "<footer>generated by lambdapack &middot; this file loads nothing from the network</footer>"
        '</main><div id="tip"></div>'
        f'<script type="application/json" id="lambdapack-report-data">{_script_json(_page_data(reports))}</script>'
        f"<script>\n{_asset('report.js')}</script></body></html>\n"
    )


@functools.cache
def _asset(name: str) -> str:
    """A file of assets/, read once per process (a page per build is the common case)."""
    return (resources.files("lambdapack.report") / "assets" / name).read_text(encoding="utf-8")
