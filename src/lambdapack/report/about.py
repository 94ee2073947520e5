"""The page's account of one artifact besides its treemap: the target, the hashes, Lambda's
size limits (with a warning block when one is exceeded) and the build's findings, as HTML.

Whether a limit is exceeded is decided by the size rules themselves (`inspect.sizerules`),
so the page and the build never disagree; the page only words it in binary units.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from lambdapack.facts.limits import UNZIPPED_BYTES, ZIPPED_DIRECT_UPLOAD_BYTES
from lambdapack.inspect.findings import Finding
from lambdapack.inspect.sizerules import check_sizes
from lambdapack.report.artifact import ArtifactFacts, TargetFacts
from lambdapack.report.sizes import SizeReport
from lambdapack.units import human, limit, percent

__all__ = ["Limit", "about_html", "limits_of", "target_text"]


@dataclass(frozen=True)
class Limit:
    name: str  # what is measured, as the page says it
    size: int
    limit: int
    over: bool
    fix: str  # what to do when over; "" when within

    @property
    def share(self) -> float:
        return self.size / self.limit


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def target_text(t: TargetFacts) -> str:
    """ "python3.12 · arm64 · Amazon Linux 2023 · glibc 2.34" (", preview" for a preview runtime)."""
    return " · ".join([t.runtime, t.arch, t.os, f"glibc {t.glibc}"]) + (" · preview runtime" if t.preview else "")


def limits_of(rep: SizeReport) -> list[Limit]:
    """The zip against the 50 MB direct upload, and the unzipped bytes Lambda counts (the function
    with all its layers) against 250 MiB. Without facts (a report measured outside a build) the
    report's own sizes stand in: member sizes for the zip, the artifact alone for the total."""
    facts = rep.facts
    zipped = facts.zip_bytes if facts is not None and facts.zip_bytes is not None else rep.zipped
    counted = facts.counted_unzipped if facts is not None else rep.unzipped
    by_code = {f.code: f for f in check_sizes(counted, [(rep.artifact, zipped)], 0)}
    unzipped_name = (
        "unzipped, with its layers" if rep.kind == "function" and counted != rep.unzipped
        else "unzipped" if rep.kind == "function"
        else "unzipped (counted again with each function that uses it)"
    )
    return [
        Limit("zipped, for a direct upload", zipped, ZIPPED_DIRECT_UPLOAD_BYTES, "LP102" in by_code,
              by_code["LP102"].fix if "LP102" in by_code else ""),
        Limit(unzipped_name, counted, UNZIPPED_BYTES, "LP101" in by_code,
              by_code["LP101"].fix if "LP101" in by_code else ""),
    ]


def _warnings(limits: list[Limit]) -> str:
    items = [
        f"<li><strong>{_e(lim.name)}: {_e(human(lim.size))}</strong> ({lim.size:,} bytes) is over Lambda's "
        f"{_e(limit(lim.limit))} limit ({lim.limit:,} bytes) by {_e(human(lim.size - lim.limit))}. "
        f"{_e(lim.fix[:1].upper() + lim.fix[1:])}.</li>"
        for lim in limits
        if lim.over
    ]
    if not items:
        return ""
    return (f'<div class="warn" role="alert"><div class="warn-h">Over a Lambda limit</div>'
            f"<ul>{''.join(items)}</ul></div>")


def _limits_table(limits: list[Limit]) -> str:
    rows = "".join(
        f'<tr class="{"over" if lim.over else "ok"}"><td>{_e(lim.name)}</td>'
        f'<td class="n">{_e(human(lim.size))}</td><td class="n">{_e(limit(lim.limit))}</td>'
        f'<td class="n">{percent(lim.share)}</td><td>{"over" if lim.over else "within"}</td></tr>'
        for lim in limits
    )
    return (
        '<table class="limits"><caption>Lambda\'s limits</caption><thead><tr><th>measured</th>'
        '<th class="n">size</th><th class="n">limit</th><th class="n">share</th><th></th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        '<p class="hint">MiB = 1,048,576 bytes. AWS writes the limits as "50 MB" and "250 MB"; they are '
        f"{ZIPPED_DIRECT_UPLOAD_BYTES:,} and {UNZIPPED_BYTES:,} bytes.</p>"
    )


def _identity(facts: ArtifactFacts) -> str:
    rows = [("target", target_text(facts.target), "target")]
    if facts.sha256_hex is not None and facts.sha256_base64 is not None:
        rows += [("sha256", facts.sha256_hex, "sha256 mono"), ("CodeSha256", facts.sha256_base64, "codesha mono")]
    else:
        rows.append(("sha256", "no zip was written (the build failed)", "sha256"))
    return '<dl class="about">' + "".join(
        f'<dt>{_e(k)}</dt><dd class="{cls}">{_e(v)}</dd>' for k, v, cls in rows
    ) + "</dl>"


def _findings_table(findings: tuple[Finding, ...]) -> str:
    if not findings:
        return '<p class="findings none">No findings: every check passed.</p>'
    rows = "".join(
        f'<tr class="sev-{_e(f.severity)}"><td class="nw mono">{_e(f.code)}</td>'
        f'<td class="nw"><span class="sev">{_e(f.severity)}</span></td>'
        f"<td>{_e(f.message)}<div class=\"hint\">{_e(f.fix)}</div></td>"
        f'<td class="path" title="{_e(f.path)}">{_e(f.path or "(the artifact)")}</td></tr>'
        for f in findings
    )
    return (
        f'<table class="findings"><caption>Findings ({len(findings)})</caption><thead><tr><th>code</th>'
        f"<th>severity</th><th>message</th><th>path</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def about_html(rep: SizeReport) -> str:
    """Target and hashes (when the build said them), the limits, any warning, the findings."""
    limits = limits_of(rep)
    facts = rep.facts
    parts = [_warnings(limits)]
    if facts is not None:
        parts.append(_identity(facts))
    parts.append(_limits_table(limits))
    if facts is not None:
        parts.append(_findings_table(facts.findings))
    return f'<div class="artifact">{"".join(parts)}</div>'
