"""A natively built wheel, checked for the target and given its real platform tag (pure).

The build backend tags what it built `linux_<machine>` (no promise about glibc). Before the
wheel is offered to the installer, every ELF file in it is held to the target: its machine, the
highest GLIBC_, GLIBCXX_ and CXXABI_ versions it needs against the runtime's, and each DT_NEEDED
library among Amazon Linux's (facts/systemlibs) or the wheel's own. Only then is it retagged
`manylinux_<glibc>_<machine>`, with the highest glibc it needs (2.17 at least, the oldest tag
uv accepts), and rewritten reproducibly: members sorted, one fixed timestamp, stored
uncompressed (no deflate implementation can change its bytes), RECORD recomputed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import posixpath
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.utils import parse_wheel_filename

from lambdapack.facts.systemlibs import system_sonames
from lambdapack.inspect.elf.layout import ELF_MAGIC
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid
from lambdapack.inspect.elf.reader import read_elf
from lambdapack.target.tags import Target

__all__ = ["BuiltWheel", "check_binaries", "retag"]

_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip's earliest date: nothing of the build's time in the bytes
_MIN_GLIBC = (2, 17)


@dataclass(frozen=True)
class BuiltWheel:
    filename: str
    data: bytes
    glibc: tuple[int, int]  # the highest GLIBC_ version its binaries need (2.17 at least)
    binaries: int


def _fmt(v: Sequence[int]) -> str:
    return ".".join(map(str, v))


def _problems(name: str, info: ELFInfo, target: Target, known: frozenset[str]) -> list[str]:
    rt, out = target.runtime, []
    if info.machine_name != target.arch.machine:
        out.append(f"{name} is built for {info.machine_name}, not {target.arch.machine}")
    for prefix, ceiling in (("GLIBC_", rt.glibc), ("GLIBCXX_", rt.glibcxx), ("CXXABI_", rt.cxxabi)):
        need = info.max_version(prefix)
        if need is not None and need > tuple(ceiling):
            out.append(f"{name} needs {prefix}{_fmt(need)}, newer than {target.runtime.name}'s {_fmt(ceiling)}")
    for lib in info.needed:
        if lib not in known:
            out.append(f"{name} needs {lib}, which {rt.os} does not provide and the wheel does not bundle")
    return out


def check_binaries(members: Sequence[tuple[str, bytes]], target: Target) -> tuple[list[str], tuple[int, int], int]:
    """(problems, the highest glibc needed, how many ELF files) of a built wheel's members."""
    parsed: list[tuple[str, ELFInfo]] = []
    problems: list[str] = []
    for name, data in members:
        if data[:4] != ELF_MAGIC:
            continue
        try:
            parsed.append((name, read_elf(data)))
        except ELFInvalid as e:
            problems.append(f"{name} is not a valid ELF file ({e})")
    bundled = {posixpath.basename(n) for n, _ in parsed} | {i.soname for _, i in parsed if i.soname}
    known = system_sonames(target.runtime.os) | bundled
    glibc = _MIN_GLIBC
    for name, info in parsed:
        problems += _problems(name, info, target, known)
        need = info.max_version("GLIBC_")
        if need is not None and len(need) >= 2:
            glibc = max(glibc, (need[0], need[1]))
    return problems, glibc, len(parsed)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _wheel_metadata(text: str, tags: Sequence[str]) -> str:
    lines = [ln for ln in text.splitlines() if not ln.startswith("Tag:")]
    return "\n".join([*lines, *(f"Tag: {t}" for t in tags)]).rstrip("\n") + "\n"


def retag(filename: str, data: bytes, target: Target) -> BuiltWheel:
    """The checked wheel renamed and rewritten for the target; ValueError lists what is wrong."""
    _name, version, _build, tags = parse_wheel_filename(filename)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist() if not i.is_dir()]
    problems, glibc, binaries = check_binaries(members, target)
    if problems:
        raise ValueError("; ".join(problems[:5]))
    platform = f"manylinux_{glibc[0]}_{glibc[1]}_{target.arch.machine}"
    if binaries == 0 and all(t.platform == "any" for t in tags):
        platform = "any"  # pure Python after all (an optional extension the package did without)
    new_tags = sorted({f"{t.interpreter}-{t.abi}-{platform}" for t in tags})
    pys = ".".join(sorted({t.interpreter for t in tags}))
    abis = ".".join(sorted({t.abi for t in tags}))
    dist = filename.split("-", 1)[0]
    out_name = f"{dist}-{version}-{pys}-{abis}-{platform}.whl"
    rewritten: dict[str, bytes] = {}
    record = None
    for member, body in members:
        top, _, leaf = member.partition("/")
        if top.endswith(".dist-info") and leaf == "WHEEL":
            body = _wheel_metadata(body.decode("utf-8"), new_tags).encode()
        if top.endswith(".dist-info") and leaf == "RECORD":
            record = member
            continue
        rewritten[member] = body
    if record is None:
        raise ValueError(f"{filename} has no RECORD")
    lines = [_record_line(m, rewritten[m]) for m in sorted(rewritten)] + [f"{record},,"]
    rewritten[record] = ("\n".join(lines) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        for member in sorted(rewritten):
            info = zipfile.ZipInfo(member, _EPOCH)
            info.external_attr = (0o755 if rewritten[member][:4] == ELF_MAGIC else 0o644) << 16
            out.writestr(info, rewritten[member])
    return BuiltWheel(out_name, buf.getvalue(), glibc, binaries)
