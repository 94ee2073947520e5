"""Real wheel files written by the tests (METADATA, WHEEL, RECORD with sha256): what the local
indexes, find-links directories and loopback servers serve to real uv."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def write_wheel(dest: Path, name: str, version: str, tag: str = "py3-none-any", *,
                files: Mapping[str, bytes] | None = None, requires: Sequence[str] = ()) -> Path:
    """`dest/<name>-<version>-<tag>.whl`. `tag` may be compressed (py3-none-a.b); `files`
    default to one module that says its version (`<name>/__init__.py`: VERSION = "...")."""
    dist = f"{name}-{version}.dist-info"
    py, abi, plats = tag.split("-")
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    wheel = ("Wheel-Version: 1.0\nGenerator: test\n"
             f"Root-Is-Purelib: {'true' if plats == 'any' else 'false'}\n"
             + "".join(f"Tag: {py}-{abi}-{p}\n" for p in plats.split(".")))
    body = dict(files) if files is not None else {f"{name}/__init__.py": f'VERSION = "{version}"\n'.encode()}
    body |= {f"{dist}/METADATA": meta.encode(), f"{dist}/WHEEL": wheel.encode()}
    record = "".join(
        f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},{len(b)}\n"
        for p, b in body.items()) + f"{dist}/RECORD,,\n"
    path = dest / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for p, b in body.items():
            zf.writestr(p, b)
        zf.writestr(f"{dist}/RECORD", record)
    return path
