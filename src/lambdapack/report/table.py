"""The size report as plain text, for the terminal (the CLI adds colour)."""

from __future__ import annotations

from lambdapack.facts.limits import UNZIPPED_BYTES
from lambdapack.report.sizes import SizeReport
from lambdapack.report.units import human, percent

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


def render_table(rep: SizeReport, width: int = 100) -> str:
    """The report as plain text, at most `width` columns wide (no colour)."""
    width = max(width, 60)
    lines = [
        f"{rep.kind} {rep.artifact}",
        f"  {len(rep.files):,} files, {human(rep.unzipped)} unzipped, {human(rep.zipped)} zipped"
        + (f", slimming saved {human(rep.saved)}" if rep.saved else ""),
        f"  {_bar(rep.budget_share, 30)} {percent(rep.budget_share)} of Lambda's 250 MB unzipped limit"
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
            f"{human(d.zipped):>{num}} {percent(d.unzipped / UNZIPPED_BYTES):>8} "
            f"{(human(d.saved) if d.saved else '-'):>{num}}"
        )
    lines.append(
        f"  {'total':<{name_w}} {len(rep.files):>7,} {human(rep.unzipped):>{num}} "
        f"{human(rep.zipped):>{num}} {percent(rep.budget_share):>8} "
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
