"""How sizes and shares read in every rendering (text table, JSON-free views, HTML).

Units: the budget is Lambda's 250 MB unzipped limit, which AWS means as 250 MiB
(262,144,000 bytes); sizes are shown in binary units (KiB, MiB) to match.
"""

from __future__ import annotations

__all__ = ["human", "percent"]


def human(n: float) -> str:
    """Binary units: 0 B, 512 B, 1.5 KiB, 97.3 MiB."""
    if abs(n) < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def percent(share: float) -> str:
    """A share (1.0 = all of it) as "24.4%"."""
    return f"{share * 100:.1f}%"
