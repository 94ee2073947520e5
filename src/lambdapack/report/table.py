"""The size report as plain text, for the terminal (the CLI adds colour)."""

from __future__ import annotations

from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.report.sizes import SizeReport
from lambdapack.units import human, limit, percent

__all__ = ["render_table"]


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


# Column widths: a size ("1023.9 KiB"), a file count ("9,999,999"), a share ("1000.0%").
_NUM, _FILES, _SHARE = 10, 7, 8
_BAR = 30  # the budget bar's cells, when the terminal has room for them


def render_table(rep: SizeReport, width: int = 100) -> str:
    """The report as plain text, at most `width` columns wide (no colour).

    The first line names the artifact whole (a path to copy); every other line fits
    `width` (at least 60). A line that fits is laid out the same at any width: only
    what would overflow a narrow terminal gives way.
    """
    width = max(width, 60)
    lines = [f"{rep.kind} {rep.artifact}", *_headline(rep, width), "", *_dist_rows(rep, width)]
    if rep.largest:
        lines += ["", *_largest_rows(rep, width)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _headline(rep: SizeReport, width: int) -> list[str]:
    """The totals and the budget bar."""
    zipped = f"{human(rep.zipped)} zipped" if rep.packed else "not packed (the build stopped before the zip)"
    totals = f"  {len(rep.files):,} files, {human(rep.unzipped)} unzipped, {zipped}"
    saved = f"slimming saved {human(rep.saved)}" if rep.saved else ""
    if not saved:
        lines = [totals]
    elif len(totals) + 2 + len(saved) <= width:
        lines = [f"{totals}, {saved}"]
    else:  # a narrow terminal: the saving gets its own line
        lines = [totals, f"  {saved}"]
    share = f" {percent(rep.budget_share)} of Lambda's {limit(UNZIPPED_BYTES)} unzipped limit" + (
        " (OVER)" if rep.unzipped > UNZIPPED_BYTES else ""
    )
    bar_w = max(0, min(_BAR, width - 4 - len(share)))  # 4: the indent and the brackets
    return [*lines, f"  {_bar(rep.budget_share, bar_w)}{share}"]


def _dist_rows(rep: SizeReport, width: int) -> list[str]:
    """One row per distribution, then the total."""
    name_w = width - 2 - (_FILES + 1) - 3 * (_NUM + 1) - (_SHARE + 1)
    # Under 64 columns the name column is narrower than its heading.
    name = "distribution" if name_w >= len("distribution") else "dist"

    def row(label: str, files: int, unzipped: int, zipped: int, share: float, saved: int) -> str:
        return (
            f"  {_fit(label, name_w):<{name_w}} {files:>{_FILES},} {human(unzipped):>{_NUM}} "
            f"{_zipped(rep, zipped):>{_NUM}} {percent(share):>{_SHARE}} "
            f"{(human(saved) if saved else '-'):>{_NUM}}"
        )

    head = (
        f"  {name:<{name_w}} {'files':>{_FILES}} {'unzipped':>{_NUM}} {'zipped':>{_NUM}} "
        f"{'budget':>{_SHARE}} {'saved':>{_NUM}}"
    )
    rows = [row(d.name, d.files, d.unzipped, d.zipped, d.unzipped / UNZIPPED_BYTES, d.saved) for d in rep.dists]
    total = row("total", len(rep.files), rep.unzipped, rep.zipped, rep.budget_share, rep.saved)
    return [head, *rows, total]


def _largest_rows(rep: SizeReport, width: int) -> list[str]:
    """The largest files, path elided in the middle to fit."""
    path_w = width - 2 - 2 * (_NUM + 1)
    head = f"  {f'largest {len(rep.largest)} files':<{path_w}} {'unzipped':>{_NUM}} {'zipped':>{_NUM}}"
    rows = [
        f"  {_fit(f.arcname, path_w):<{path_w}} {human(f.unzipped):>{_NUM}} {_zipped(rep, f.zipped):>{_NUM}}"
        for f in rep.largest
    ]
    return [head, *rows]


def _zipped(rep: SizeReport, n: int) -> str:
    """A zipped size, or "-" in a report of files never packed (unknown, not estimated)."""
    return human(n) if rep.packed else "-"
