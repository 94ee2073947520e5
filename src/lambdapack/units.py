"""How quantities read in every message, table and page: sizes in binary units, shares, counts.

Binary units throughout (KiB, MiB, GiB), the limits included: Lambda's "250 MB" unzipped limit
is 262,144,000 bytes, which is exactly 250 MiB (Lambda's own error text quotes that number), and
its "50 MB" direct-upload limit is 52,428,800 bytes, 50 MiB, as AWS documents it
(facts/limits.py). A shared model: it imports nothing of ours, so every layer may use it.
"""

from __future__ import annotations

__all__ = ["count", "human", "limit", "percent"]


def human(n: float) -> str:
    """Binary units: 0 B, 512 B, 1.5 KiB, 97.3 MiB."""
    if abs(n) < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def limit(n: int) -> str:
    """A limit, which is a whole number of its unit: "250 MiB", "50 MiB", "10 GiB"."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size:,} {unit}"
    return human(n)


def percent(share: float) -> str:
    """A share (1.0 = all of it) as "24.4%"."""
    return f"{share * 100:.1f}%"


def count(n: int, word: str, plural: str | None = None) -> str:
    """ "1 module", "1,995 modules", "0 files"; `plural` where adding an s is wrong."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"
