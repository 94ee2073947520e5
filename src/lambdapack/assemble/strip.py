"""Stripping debug info from ELF shared objects, on copies, kept only when verified.

Strips *copies* (the installed file may be a hard link into uv's cache) with
``--strip-debug`` only, and keeps a stripped copy only when it is verified to load
exactly like the original (see :func:`_verify_stripped`); otherwise the original ships.

Why stripping is dangerous elsewhere: wheels repaired by auditwheel were rewritten by
patchelf, and some strip runs on such files produce binaries the loader refuses
("ELF load command address/offset not properly aligned", serverless-python-requirements
``strip: true``). Here every stripped copy must keep the loader's view byte for byte.
"""

from __future__ import annotations

import mmap
import os
import platform
import re
import shutil
import struct
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from lambdapack.facts.machines import normalize_machine
from lambdapack.host import processes
from lambdapack.inspect.elf.loadheaders import read_load_headers
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid
from lambdapack.inspect.elf.reader import read_elf_file
from lambdapack.staged import StagedFile
from lambdapack.target.tags import Target

__all__ = ["find_strip_tools", "strip_one"]


def _host_machine() -> str:
    return normalize_machine(platform.machine())


def find_strip_tools(machine: str) -> tuple[str, ...]:
    """Strip programs that handle ELF files for `machine` ("x86_64"/"aarch64"), best first.

    GNU binutils' `<machine>-linux-gnu-strip`; plain `strip` only on a Linux host of the
    same machine (elsewhere it is for another architecture or, on macOS, not for ELF at
    all); then `llvm-strip` (any ELF architecture), including versioned `llvm-strip-N`.
    """
    names = [f"{machine}-linux-gnu-strip"]
    if sys.platform.startswith("linux") and _host_machine() == machine:
        names.append("strip")
    names.append("llvm-strip")
    versioned: set[str] = set()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        try:
            versioned.update(
                f.name for f in Path(d or ".").iterdir() if re.fullmatch(r"llvm-strip-\d+", f.name)
            )
        except OSError:
            continue
    names += sorted(versioned, key=lambda n: -int(n.rsplit("-", 1)[1]))
    out: list[str] = []
    seen: set[str] = set()
    for n in names:
        path = shutil.which(n)
        if path is None:
            continue
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            out.append(path)
    return tuple(out)


_PT_LOAD = 1


def _same_load_image(original: Path, stripped: Path) -> str | None:
    """None when the loader sees the same thing in both files, else what differs.

    Same ELF header (except where the section headers are), same program headers
    (a segment may move in the file only if a PT_LOAD's offset stays congruent to its
    address modulo p_align, the check whose failure is "ELF load command address/offset
    not properly aligned"), and the same bytes in every segment, wherever it now is.
    """
    with open(original, "rb") as fa, open(stripped, "rb") as fb:
        if os.fstat(fb.fileno()).st_size == 0:
            return "the stripped file is empty"
        with (
            mmap.mmap(fa.fileno(), 0, access=mmap.ACCESS_READ) as a,
            mmap.mmap(fb.fileno(), 0, access=mmap.ACCESS_READ) as b,
        ):
            try:
                va, vb = read_load_headers(a), read_load_headers(b)
            except (ELFInvalid, struct.error) as e:
                return f"unreadable headers ({e})"
            if va.header != vb.header:
                return "the ELF header changed"
            if len(va.phdrs) != len(vb.phdrs):
                return "the program headers changed"
            segments: list[tuple[int, int, int, int]] = []
            for pa, pb in zip(va.phdrs, vb.phdrs, strict=True):
                if pa[:2] != pb[:2] or pa[3:] != pb[3:]:
                    return "the program headers changed"
                p_type, _f, off_b, vaddr, _p, filesz, _m, align = pb
                if p_type == _PT_LOAD and align > 1 and off_b % align != vaddr % align:
                    return "a PT_LOAD segment is no longer aligned (offset vs address)"
                if pa[2] + filesz > len(a) or off_b + filesz > len(b):
                    return "a segment lies outside the file"
                if filesz:
                    segments.append((p_type, pa[2], off_b, filesz))
            # Every segment's bytes (PT_LOAD, and PT_NOTE/PT_DYNAMIC/PT_INTERP... which a
            # reader may find by file offset) are the same wherever they now are.
            for p_type, off_a, off_b, filesz in segments:
                if not _same_bytes(a, off_a, b, off_b, filesz, va.headers):
                    what = "PT_LOAD segment" if p_type == _PT_LOAD else f"segment (p_type {p_type:#x})"
                    return (
                        f"the contents of a {what} changed (typical of a file that "
                        "auditwheel rewrote with patchelf)"
                    )
    return None


def _same_bytes(
    a: mmap.mmap, off_a: int, b: mmap.mmap, off_b: int, size: int, masked: tuple[tuple[int, int], ...]
) -> bool:
    """Segment bytes equal, leaving out the ELF and program headers (compared field by
    field already: the section-header fields and segment offsets may legitimately change)."""
    cuts = sorted(
        (max(lo, off_a) - off_a, min(hi, off_a + size) - off_a)
        for lo, hi in masked
        if lo < off_a + size and hi > off_a
    )
    if cuts and off_a != off_b:
        return False  # the headers' own segment moved
    pos = 0
    for lo, hi in [*cuts, (size, size)]:
        if lo > pos and a[off_a + pos : off_a + lo] != b[off_b + pos : off_b + lo]:
            return False
        pos = max(pos, hi)
    return True


def _verify_stripped(before: ELFInfo, original: Path, copy: Path) -> str | None:
    try:
        after = read_elf_file(copy)
    except (ELFInvalid, OSError) as e:
        return f"the stripped copy does not parse ({e})"
    if (after.elf_class, after.little_endian, after.machine, after.elf_type) != (
        before.elf_class,
        before.little_endian,
        before.machine,
        before.elf_type,
    ):
        return "ELF class, byte order, machine or type changed"
    lost = [s for s in before.exported_symbols if s.startswith("PyInit_") and s not in after.exported_symbols]
    if lost:
        return f"lost its module init symbol {', '.join(lost)}"
    if set(after.exported_symbols) != set(before.exported_symbols):
        return "its exported dynamic symbols changed"
    if (after.needed, after.soname, after.rpath, after.runpath, after.version_needs) != (
        before.needed,
        before.soname,
        before.rpath,
        before.runpath,
        before.version_needs,
    ):
        return "its dynamic section (DT_NEEDED, SONAME, RPATH/RUNPATH, versions) changed"
    return _same_load_image(original, copy)


_STRIP_TIMEOUT = 600


def strip_one(
    entry: StagedFile, target: Target, tools: Sequence[str], work: Path
) -> tuple[StagedFile | None, str | None]:
    """(stripped entry, None) | (None, why the original ships) | (None, None): nothing to do."""
    try:
        before = read_elf_file(entry.path)
    except (ELFInvalid, OSError) as e:
        return None, f"not stripped: not a readable ELF file ({e})"
    if before.machine != target.arch.elf_machine:
        return None, f"not stripped: built for {before.machine_name}, the target is {target.arch.machine}"
    if not before.has_debug_info:
        return None, None
    if not tools:
        return None, (
            f"not stripped: no strip program for {target.arch.machine} ELF files on this machine "
            f"(install llvm-strip, or binutils' {target.arch.machine}-linux-gnu-strip)"
        )
    copy = work / entry.arcname
    copy.parent.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for tool in tools:
        # A fresh copy per attempt: the installed file is never opened for writing.
        shutil.copyfile(entry.path, copy)
        name = Path(tool).name
        try:
            proc = processes.run_text([tool, "--strip-debug", str(copy)], env=os.environ, timeout=_STRIP_TIMEOUT)
        except (OSError, processes.Timeout) as e:
            problems.append(f"{name}: {e}")
            continue
        if proc.returncode != 0:
            msg = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            problems.append(f"{name} failed: {msg}")
            continue
        problem = _verify_stripped(before, entry.path, copy)
        if problem is not None:
            problems.append(f"{name}: {problem}")
            continue
        after = copy.stat().st_size
        if after >= entry.size:
            copy.unlink()
            return None, None  # nothing gained: ship the original
        return replace(entry, path=copy, size=after), None
    if copy.exists():
        copy.unlink()
    return None, "not stripped, the original ships: " + "; ".join(problems)
