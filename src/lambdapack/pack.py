"""Deterministic, atomic zip writing.

Same inputs give the same bytes on any machine and any day: entries sorted by name,
one fixed timestamp (SOURCE_DATE_EPOCH, clamped to the zip epoch 1980-01-01), modes
normalised to 0644 / 0755 (the executable bit kept, as `bootstrap` and `bin/` tools
need it), Unix "made by" on every platform, no extra fields, no directory entries.
The zip is written to a temporary file beside the output and renamed into place, so
the output path only ever holds a complete zip.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .stage import Entry

__all__ = ["Artifact", "atomic_output", "sha256_file", "write_zip", "write_zip_to", "zip_date_time"]

ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest DOS date a zip can hold
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256_hex: str
    sha256_base64: str  # Lambda's CodeSha256, Terraform's source_code_hash
    zipped_bytes: int
    unzipped_bytes: int
    files: int


def zip_date_time(environ: Mapping[str, str]) -> tuple[int, int, int, int, int, int]:
    """The one timestamp of every entry: SOURCE_DATE_EPOCH or 1980-01-01, in UTC."""
    raw = environ.get("SOURCE_DATE_EPOCH", "").strip()
    epoch = ZIP_EPOCH
    if raw:
        try:
            epoch = max(int(raw), ZIP_EPOCH)
        except ValueError:
            epoch = ZIP_EPOCH
    t = time.gmtime(min(epoch, 4354819198))  # DOS dates end in 2107
    # DOS times have 2-second resolution; round down so the value is exact.
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)


def _zipinfo(
    arcname: str, executable: bool, date_time: tuple[int, int, int, int, int, int]
) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=date_time)
    info.create_system = 3  # Unix, so the mode bits below are honoured everywhere
    mode = 0o755 if executable else 0o644
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; rename over it only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The ".lambdapack-" prefix is excluded from source trees, so a temp file left by
    # a killed build (SIGKILL skips cleanup) can never end up inside the next zip.
    fd, tmp = tempfile.mkstemp(prefix=f".lambdapack-{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def write_zip_to(
    entries: Sequence[Entry],
    tmp: Path,
    final: Path,
    *,
    environ: Mapping[str, str] | None = None,
    compresslevel: int = 6,
) -> Artifact:
    """Write `entries` as a reproducible zip into `tmp` (which will become `final`)."""
    env = os.environ if environ is None else environ
    date_time = zip_date_time(env)
    ordered = sorted(entries, key=lambda e: e.arcname.encode("utf-8"))
    seen: set[str] = set()
    unzipped = 0
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for e in ordered:
            if e.arcname in seen:
                continue
            seen.add(e.arcname)
            info = _zipinfo(e.arcname, e.executable, date_time)
            with open(e.path, "rb") as src, zf.open(info, "w", force_zip64=e.size > 0x7FFFFFFF) as dst:
                while chunk := src.read(_CHUNK):
                    unzipped += len(chunk)
                    dst.write(chunk)
    digest = sha256_file(tmp)
    return Artifact(
        path=final,
        sha256_hex=digest,
        sha256_base64=base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
        zipped_bytes=tmp.stat().st_size,
        unzipped_bytes=unzipped,
        files=len(seen),
    )


def write_zip(
    entries: Sequence[Entry],
    out: Path,
    *,
    environ: Mapping[str, str] | None = None,
    compresslevel: int = 6,
) -> Artifact:
    """Write `entries` as a reproducible zip at `out`, atomically."""
    with atomic_output(out) as tmp:
        return write_zip_to(entries, tmp, out, environ=environ, compresslevel=compresslevel)
