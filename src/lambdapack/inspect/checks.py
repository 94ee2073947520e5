"""The rule engine: every reason an artifact will not import on its Lambda target.

Rules are pure functions over `Member`s (a file's name, owner and bytes) and a
`Target`; they return `Finding`s. The build verifies its staged files with them, and
`lambdapack check` runs the same rules on zips built by anything.

Rule codes are stable; they are listed, with their meaning, in `rulebook.RULES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdapack.inspect.binarykind import BinaryKind, classify
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid
from lambdapack.inspect.elf.reader import read_elf, read_elf_file, read_elf_prefix
from lambdapack.inspect.elf.truncation import elf_truncation
from lambdapack.inspect.findings import ERROR, WARNING, Finding
from lambdapack.target.tags import Target

__all__ = [
    "Member",
    "check_binaries",
    "dead_variants",
    "extension_suffixes",
    "is_extension_module_name",
]


@dataclass(frozen=True)
class Member:
    """A file to check: its name in the artifact, its owner, and a way to read it."""

    arcname: str
    distribution: str | None
    size: int
    read_head: Callable[[int], bytes]
    read_elf: Callable[[], ELFInfo]

    @classmethod
    def from_path(cls, arcname: str, path: Path, distribution: str | None, size: int) -> Member:
        def head(n: int) -> bytes:
            with open(path, "rb") as f:
                return f.read(n)

        return cls(arcname, distribution, size, head, lambda: read_elf_file(path))

    @classmethod
    def from_bytes(cls, arcname: str, data: bytes, distribution: str | None) -> Member:
        return cls(arcname, distribution, len(data), lambda n: data[:n], lambda: read_elf(data))


def _v(t: Sequence[int]) -> str:
    return ".".join(map(str, t))


# name.cpython-312-x86_64-linux-gnu.so, name.cpython-313t-…, name.abi3.so, name.pypy310-pp73-….so
_EXT_RE = re.compile(
    r"\.(?:cpython-(?P<cpy>\d)(?P<cpmin>\d+)(?P<ft>t?)(?P<dbg>d?)-(?P<plat>[\w-]+)"
    r"|(?P<pypy>pypy\d*-pp\d+-[\w-]+)"
    r"|cp(?P<winver>\d+)-(?P<winplat>win[\w]*))\.(?P<ext>so|pyd)$"
)


def _extension_problem(name: str, target: Target) -> tuple[str, bool] | None:
    """What is wrong with an extension module's name for the target, and whether only its
    Python is wrong (another CPython, free-threaded, PyPy: a variant, if one for the
    runtime is beside it), or None when the name is fine."""
    base = name.rsplit("/", 1)[-1]
    if base.endswith(".pyd"):
        return "Windows extension module (.pyd)", False
    m = _EXT_RE.search(base)
    if m is None:
        return None
    rt = target.runtime
    if m.group("pypy"):
        return f"extension module for PyPy ({m.group('pypy')}), Lambda runs CPython", True
    if m.group("winver"):
        return "Windows extension module", False
    ver = (int(m.group("cpy")), int(m.group("cpmin")))
    if m.group("ft"):
        return f"extension module for free-threaded CPython {_v(ver)} (cpython-{ver[0]}{ver[1]}t)", True
    if ver != rt.python:
        return f"extension module for CPython {_v(ver)}, the runtime is {rt.version}", True
    plat = m.group("plat")
    if plat == "darwin":
        return "extension module for macOS", False
    if plat.endswith("linux-musl"):
        return "extension module for musl libc (Alpine)", False
    want = f"{target.arch.machine}-linux-gnu"
    if plat != want:
        return f"extension module for {plat}, the target needs {want}", False
    return None


def extension_suffixes(target: Target) -> tuple[str, ...]:
    """importlib.machinery.EXTENSION_SUFFIXES of the target's CPython on Linux, in the
    order its FileFinder tries them (PEP 3149, PEP 384): the first that exists is loaded."""
    major, minor = target.runtime.python
    return (f".cpython-{major}{minor}-{target.arch.machine}-linux-gnu.so", ".abi3.so", ".so")


def _imported_as(base: str, suffixes: Sequence[str]) -> tuple[str, int] | None:
    """(module name, suffix rank) when `import name` on the target would load this file."""
    for rank, suffix in enumerate(suffixes):
        stem = base[: -len(suffix)]
        if base.endswith(suffix) and stem.isidentifier():
            return stem, rank
    return None


def dead_variants(names: Iterable[str], target: Target) -> dict[str, str]:
    """Extension modules for another Python that the target never loads, each -> the file
    of the same module (same directory, same name) that it loads instead.

    Wheels such as valkey-glide's ship `mod.cpython-3XY-….so` once per CPython version;
    Python imports the one whose suffix it knows, so the others are dead weight, not
    errors. A file with no such sibling is not in the result (it stays an LP005 error).
    """
    suffixes = extension_suffixes(target)
    loaded: dict[tuple[str, str], tuple[int, str]] = {}
    foreign: list[tuple[str, str, str]] = []
    for name in names:
        folder, _, base = name.rpartition("/")
        hit = _imported_as(base, suffixes)
        if hit is not None:
            key = (folder, hit[0])
            if key not in loaded or hit[1] < loaded[key][0]:
                loaded[key] = (hit[1], base)
            continue
        problem = _extension_problem(name, target)
        if problem is not None and problem[1]:
            foreign.append((name, folder, base.split(".", 1)[0]))
    return {name: loaded[(folder, stem)][1] for name, folder, stem in foreign if (folder, stem) in loaded}


def _bundles_libstdcxx(members: Sequence[Member]) -> bool:
    return any(re.search(r"(^|/)libstdc\+\+[\w.-]*\.so", m.arcname) for m in members)


# What the dynamic loader is asked to open: `x.so`, `libx.so.1.2`.
_SHARED_OBJECT_RE = re.compile(r"\.so(?:\.\d+)*$")
_MODULE_STEM_RE = re.compile(r"^[A-Za-z_]\w*$")


def is_extension_module_name(name: str) -> bool:
    """Whether CPython on Linux would import the file as an extension module.

    Any `stem.so` whose stem is an identifier is importable (`.so` is one of
    importlib's EXTENSION_SUFFIXES), but `lib*.so` without a Python tag is a shared
    library by convention, loaded by the linker or ctypes, not by `import`.
    """
    base = name.rsplit("/", 1)[-1]
    if not base.endswith(".so"):
        return False
    stem = base.split(".", 1)[0]
    if not _MODULE_STEM_RE.match(stem):
        return False
    tagged = _EXT_RE.search(base) is not None or base.endswith(".abi3.so")
    return tagged or not stem.startswith("lib")


def _reinstall(rebuild: str) -> str:
    return f"reinstall it from the package's wheel ({rebuild}); the file was cut after the wheel was built"


def _needed_by(members: Sequence[Member]) -> dict[str, str]:
    """DT_NEEDED name -> one member that needs it, over the ELF members that parse."""
    out: dict[str, str] = {}
    for m in members:
        if m.size < 64 or classify(m.read_head(64)) is not BinaryKind.ELF:
            continue
        try:
            info = m.read_elf()
        except ELFInvalid:
            continue
        for lib in info.needed:
            out.setdefault(lib, m.arcname)
    return out


def _load_failure(m: Member, needed_by: dict[str, str], rebuild: str) -> Finding | None:
    """LP008 for a shared object the loader cannot open: empty, or not ELF at all.

    Empty files count when `import` or the linker will open them (an extension
    module, a library another member needs); an empty `lib*.so` nothing links to
    is only a warning, since it breaks nothing unless loaded by hand (ctypes).
    Any other empty file (`__init__.py`, `py.typed`) is normal.
    """
    base = m.arcname.rsplit("/", 1)[-1]
    ext = is_extension_module_name(m.arcname)
    fix = _reinstall(rebuild)
    if m.size == 0:
        user = needed_by.get(base)
        if ext:
            why = 'an empty extension module: `import` fails with "file too short"'
        elif user is not None:
            why = f'an empty shared library that {user} needs (DT_NEEDED): loading fails with "file too short"'
        elif _SHARED_OBJECT_RE.search(base):
            return Finding(
                "LP008", WARNING, m.arcname, m.distribution,
                '0 bytes: an empty shared library; nothing in the package links to it, but loading it '
                '(e.g. with ctypes) fails with "file too short"',
                "remove it, or " + fix,
            )  # fmt: skip
        else:
            return None
        return Finding("LP008", ERROR, m.arcname, m.distribution, f"0 bytes: {why}", fix)
    if ext and classify(m.read_head(64)) is BinaryKind.NONE:
        return Finding(
            "LP008", ERROR, m.arcname, m.distribution,
            f"not a shared object ({m.size:,} bytes, not starting with the ELF magic): `import` fails with "
            + ('"file too short"' if m.size < 64 else '"invalid ELF header"'),
            "replace it with the file from the package's Linux wheel (a Git LFS pointer or a saved error "
            f"page looks like this): {rebuild}",
        )  # fmt: skip
    return None


class _BinaryScan:
    """What every member's binary checks share: the target, the rebuild command, and the
    DT_NEEDED users of each library, worked out once, on the first empty library."""

    def __init__(self, members: Sequence[Member], target: Target) -> None:
        self.members = members
        self.target = target
        self.bundled_cxx = _bundles_libstdcxx(members)
        self.rebuild = f"lambdapack build --runtime {target.runtime.name} --arch {target.arch.value}"
        self._needed_by: dict[str, str] | None = None
        self.dead = dead_variants((m.arcname for m in members), target)

    def needed_by(self, m: Member) -> dict[str, str]:
        if self._needed_by is None and m.size == 0 and _SHARED_OBJECT_RE.search(m.arcname):
            self._needed_by = _needed_by(self.members)  # only an empty library needs to know its users
        return self._needed_by or {}


def check_binaries(members: Sequence[Member], target: Target) -> list[Finding]:
    """LP001-LP006 and LP008 for every member; all offending files, not the first."""
    scan = _BinaryScan(members, target)
    findings: list[Finding] = []
    for m in members:
        findings += _member_findings(m, scan)
    return findings


def _member_findings(m: Member, scan: _BinaryScan) -> list[Finding]:
    """LP005 from the name, then LP008 when it cannot load at all, else what its bytes say."""
    out: list[Finding] = []
    target = scan.target
    ext = _extension_problem(m.arcname, target)
    if ext is not None and m.arcname in scan.dead:
        return [_dead_variant(m, ext[0], scan.dead[m.arcname], target)]  # never loaded: nothing else matters
    if ext is not None:
        out.append(
            Finding(
                "LP005",
                ERROR,
                m.arcname,
                m.distribution,
                ext[0],
                f"install the {target.runtime.name} {target.arch.machine} wheel instead ({scan.rebuild})",
            )
        )
    if len(m.read_head(64)) < min(m.size, 64):
        return out  # unreadable (a corrupt zip member): reported as LP307 with the archive problems
    if m.size == 0 or is_extension_module_name(m.arcname):
        load = _load_failure(m, scan.needed_by(m), scan.rebuild)
        if load is not None:
            return [*out, load]
    if m.size < 4:
        return out
    return out + _native_findings(m, scan)


def _dead_variant(m: Member, problem: str, loaded: str, target: Target) -> Finding:
    """LP005 as a warning: a variant of a module for another Python, beside the one the runtime loads."""
    return Finding(
        "LP005",
        WARNING,
        m.arcname,
        m.distribution,
        f"{problem}; never loaded, {target.runtime.name} imports {loaded} beside it: "
        f"dead weight ({m.size:,} bytes)",
        "leave it out: lambdapack build --slim safe (the default) does",
    )


def _native_findings(m: Member, scan: _BinaryScan) -> list[Finding]:
    """LP001 for another OS's binary; for ELF, LP008 when cut, LP006 when unparseable, else LP002-LP004."""
    kind = classify(m.read_head(64))
    if kind in (BinaryKind.MACHO, BinaryKind.PE):
        what = "Mach-O (macOS)" if kind is BinaryKind.MACHO else "PE (Windows)"
        return [
            Finding(
                "LP001",
                ERROR,
                m.arcname,
                m.distribution,
                f"{what} binary; Lambda runs Linux and cannot load it",
                f"rebuild for Linux: {scan.rebuild}",
            )
        ]
    if kind is not BinaryKind.ELF:
        return []
    out: list[Finding] = []
    cut = elf_truncation(m.read_head, m.size)
    if cut is not None:
        out.append(
            Finding(
                "LP008",
                WARNING if cut.loads else ERROR,
                m.arcname,
                m.distribution,
                f"{cut.message}; {cut.effect}",
                _reinstall(scan.rebuild),
            )
        )
        if not cut.loads:
            return out
    try:
        info = m.read_elf()
    except ELFInvalid as e:
        if cut is None:
            return [
                Finding(
                    "LP006",
                    WARNING,
                    m.arcname,
                    m.distribution,
                    f"starts like ELF but cannot be parsed ({e})",
                    "check where this file comes from; Lambda will fail to load it if it is needed",
                )
            ]
        # Only the section headers are missing: judge what the loader reads.
        try:
            info = read_elf_prefix(m.read_head, m.size)
        except ELFInvalid:
            return out  # one finding per file: LP008 already says what is wrong
    return out + _elf_findings(m, info, scan.target, scan.bundled_cxx, scan.rebuild)


def _elf_findings(m: Member, info: ELFInfo, target: Target, bundled_cxx: bool, rebuild: str) -> list[Finding]:
    rt = target.runtime
    out: list[Finding] = []
    if info.elf_class != 64 or not info.little_endian or info.machine != target.arch.elf_machine:
        order = "little-endian" if info.little_endian else "big-endian"
        out.append(
            Finding(
                "LP002",
                ERROR,
                m.arcname,
                m.distribution,
                f"ELF {info.elf_class}-bit {order} {info.machine_name}; "
                f"{target.arch.value} Lambda needs 64-bit little-endian {target.arch.machine}",
                f"install the {target.arch.machine} build: {rebuild}",
            )
        )
        return out  # version checks are meaningless for a binary that cannot load
    glibc = info.max_version("GLIBC_")
    if glibc is not None and glibc > rt.glibc:
        too_new = [v for v in info.versions("GLIBC_") if _num(v) > rt.glibc]
        out.append(
            Finding(
                "LP003",
                ERROR,
                m.arcname,
                m.distribution,
                f"needs {', '.join(too_new)}; {rt.name} runs on {rt.os} with glibc {_v(rt.glibc)}",
                f"use a wheel tagged manylinux_{rt.glibc[0]}_{rt.glibc[1]} or older ({rebuild})"
                + (", or move to python3.12+ (glibc 2.34)" if rt.glibc < (2, 34) else ""),
            )
        )
    if not bundled_cxx:
        cxx_new = [v for v in info.versions("GLIBCXX_") if _num(v) > rt.glibcxx]
        cxx_new += [v for v in info.versions("CXXABI_") if _num(v) > rt.cxxabi]
        if cxx_new:
            out.append(
                Finding(
                    "LP004",
                    ERROR,
                    m.arcname,
                    m.distribution,
                    f"needs {', '.join(cxx_new)}; {rt.os} provides up to GLIBCXX_{_v(rt.glibcxx)}",
                    "use a wheel that bundles libstdc++ or targets an older manylinux policy",
                )
            )
    return out


def _num(version_name: str) -> tuple[int, ...]:
    raw = version_name.split("_", 1)[1] if "_" in version_name else ""
    try:
        return tuple(int(x) for x in raw.split("."))
    except ValueError:
        return ()
