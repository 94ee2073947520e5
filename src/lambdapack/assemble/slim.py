"""Slimming: leave out files Lambda never needs, and strip debug info without risk.

Three profiles (``--slim none|safe|aggressive``, ``safe`` by default), each an explicit
list of rules (:data:`PROFILE_RULES`, shown by ``--help`` and the README), plus the
user's own ``--exclude``/``--keep`` patterns and ``--exclude-runtime-provided``.

Only dependency files are slimmed: an entry whose ``distribution`` is None (the user's
own code) is never removed or stripped, whatever the profile or pattern. Nothing in a
``*.dist-info`` folder is ever removed by a profile: packages read their own metadata
with ``importlib.metadata``.

:func:`plan_slim` decides from file names alone (pure). :func:`apply_slim` is the
edge: it strips *copies* (the installed file may be a hard link into uv's cache) with
``--strip-debug`` only and keeps a stripped copy only when it is verified to load
exactly like the original (see :func:`_verify_stripped`); otherwise the original ships.

Why stripping is dangerous elsewhere: wheels repaired by auditwheel were rewritten by
patchelf, and some strip runs on such files produce binaries the loader refuses
("ELF load command address/offset not properly aligned", serverless-python-requirements
``strip: true``). Here every stripped copy must keep the loader's view byte for byte.
"""

from __future__ import annotations

import enum
import mmap
import os
import platform
import re
import shutil
import struct
import sys
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lambdapack.assemble.patterns import PathPattern
from lambdapack.facts import sdk
from lambdapack.facts.machines import normalize_machine
from lambdapack.host import processes
from lambdapack.inspect.elf.loadheaders import read_load_headers
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid
from lambdapack.inspect.elf.reader import read_elf_file
from lambdapack.resolve.install import Distribution
from lambdapack.staged import StagedFile
from lambdapack.target.tags import Target

__all__ = [
    "NEVER_REMOVED",
    "PROFILE_RULES",
    "RUNTIME_INCLUDED",
    "RUNTIME_SDK",
    "Profile",
    "Removal",
    "SlimPlan",
    "SlimResult",
    "apply_slim",
    "find_strip_tools",
    "plan_slim",
    "runtime_provided_closure",
]


class Profile(enum.Enum):
    NONE = "none"
    SAFE = "safe"
    AGGRESSIVE = "aggressive"


_SAFE_RULES: tuple[str, ...] = (
    "__pycache__/*.pyc and *.pyo that the target's CPython never reads: any cache tag other "
    "than the target's cpython-3XY (other Python versions, PyPy, untagged, *.pyo)",
    "C and C++ sources and headers shipped in wheels: *.c *.cc *.cpp *.cxx *.h *.hh *.hpp *.hxx",
    "Cython sources and declarations: *.pyx *.pxd *.pxi",
)
_AGGRESSIVE_RULES: tuple[str, ...] = (
    "test folders of third-party packages: directories named tests or test below a package's "
    "top-level folder (never a top-level package, never your code)",
    "type stubs: *.pyi",
    "documentation and example folders of third-party packages: docs, doc, examples, example "
    "below a package's top-level folder, unless they are Python packages (contain __init__.py; "
    "botocore.docs and boto3.docs are imported at runtime)",
    "debug sections of ELF shared objects (*.so, *.so.*): strip --strip-debug on a copy; the copy "
    "ships only if everything the dynamic loader maps is byte-identical and the exported "
    "symbols (PyInit_*), DT_NEEDED, SONAME and RPATH/RUNPATH are unchanged",
)

PROFILE_RULES: dict[Profile, tuple[str, ...]] = {
    Profile.NONE: (),
    Profile.SAFE: _SAFE_RULES,
    Profile.AGGRESSIVE: _SAFE_RULES + _AGGRESSIVE_RULES,
}

# Considered for `safe` and left out, with the reason (README and --help show these too).
NEVER_REMOVED: tuple[str, ...] = (
    "*.dist-info folders: packages read their own version and entry points with importlib.metadata",
    "bytecode for the target's Python (__pycache__/*.cpython-3XY*.pyc): it saves compile time at "
    "every cold start on Lambda's read-only file system",
    "sourceless *.pyc outside __pycache__: it may be the module itself",
    "*.pyi in `safe`: some packages read stubs as data at runtime (mypy's and jedi's typeshed)",
    "py.typed: an empty marker file, removing it saves nothing",
    "non-cache files inside __pycache__ (numba's *.nbi/*.nbc caches are read at runtime)",
)

_C_SOURCES = frozenset({".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx"})
_CYTHON_SOURCES = frozenset({".pyx", ".pxd", ".pxi"})
_TEST_DIRS = frozenset({"tests", "test"})
_DOC_DIRS = frozenset({"docs", "doc", "examples", "example"})
_SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")

# --exclude-runtime-provided: the SDK every Python runtime includes, and the whole set of
# distributions installed with it in the runtime (boto3's dependency closure).
RUNTIME_SDK: tuple[str, ...] = sdk.SDK_DISTRIBUTIONS
RUNTIME_INCLUDED: tuple[str, ...] = sdk.INCLUDED_DISTRIBUTIONS


@dataclass(frozen=True)
class Removal:
    arcname: str
    size: int
    distribution: str | None
    reason: str


@dataclass(frozen=True)
class SlimPlan:
    removals: tuple[Removal, ...]
    strip: tuple[str, ...]  # arcnames to strip (candidates by name; apply_slim verifies)

    @property
    def removed_bytes(self) -> int:
        return sum(r.size for r in self.removals)


@dataclass(frozen=True)
class SlimResult:
    entries: list[StagedFile]
    removals: list[Removal]
    stripped: list[tuple[str, int, int]]  # (arcname, bytes before, bytes after)
    kept_unstripped: list[tuple[str, str]]  # (arcname, why the original ships)
    strip_tools: tuple[str, ...] = ()  # the strip programs that were available, in order of use

    @property
    def saved_bytes(self) -> int:
        return sum(r.size for r in self.removals) + sum(b - a for _n, b, a in self.stripped)


# --- planning (pure) ----------------------------------------------------------------


def _dist_name(label: str) -> str:
    """StagedFile.distribution is "Display-Name version" (or a bare top-level name)."""
    return canonicalize_name(label.rsplit(" ", 1)[0] if " " in label else label)


def _matches(rel: PurePosixPath, arcname: str, pattern: str) -> bool:
    """An --exclude/--keep pattern on a dependency's file: its path below the site root,
    or its name in the zip (with the layer's python/ prefix) for a pattern with "/"."""
    return PathPattern(pattern).matches(str(rel), also=(arcname,))


def _foreign_bytecode(rel: PurePosixPath, cache_tag: str) -> bool:
    if len(rel.parts) < 2 or rel.parts[-2] != "__pycache__" or rel.suffix not in (".pyc", ".pyo"):
        return False
    if rel.suffix == ".pyo":
        return True  # PEP 488: Python 3.5+ never reads .pyo
    parts = rel.name.split(".")  # module . tag [. opt-N] . pyc
    if len(parts) == 3:
        return parts[1] != cache_tag
    if len(parts) == 4 and re.fullmatch(r"opt-\d+", parts[2]):
        return parts[1] != cache_tag
    return True  # any other name is never looked up by the import system


def _profile_reason(
    rel: PurePosixPath, profile: Profile, cache_tag: str, package_dirs: set[str]
) -> str | None:
    if profile is Profile.NONE:
        return None
    if _foreign_bytecode(rel, cache_tag):
        return f"bytecode the target never reads (it reads {cache_tag} only)"
    suffix = rel.suffix.lower()
    if suffix in _C_SOURCES:
        return "C/C++ source or header"
    if suffix in _CYTHON_SOURCES:
        return "Cython source"
    if profile is not Profile.AGGRESSIVE:
        return None
    dirs = rel.parts[1:-1]  # folders below the top-level one
    for i, d in enumerate(dirs, start=1):
        if d in _TEST_DIRS:
            return f"test folder {'/'.join(rel.parts[: i + 1])}/"
        if d in _DOC_DIRS:
            folder = "/".join(rel.parts[: i + 1])
            if folder not in package_dirs:
                return f"{d} folder {folder}/"
    if suffix == ".pyi":
        return "type stub"
    return None


def plan_slim(
    entries: Sequence[StagedFile],
    target: Target,
    profile: Profile,
    *,
    excludes: Sequence[str] = (),
    keeps: Sequence[str] = (),
    drop_dists: Collection[str] = (),
    dist_prefix: str = "",
) -> SlimPlan:
    """What to leave out and what to strip (pure: file names only, nothing is read).

    Precedence: --keep wins over everything; then dropped distributions
    (--exclude-runtime-provided), then --exclude, then the profile's rules. Only
    dependency entries (distribution set, arcname under `dist_prefix`) are considered.
    """
    drop = {canonicalize_name(n) for n in drop_dists}
    cache_tag = f"cpython-{target.runtime.python[0]}{target.runtime.python[1]}"
    deps: list[tuple[StagedFile, PurePosixPath]] = []
    for e in entries:
        if e.distribution is None or not e.arcname.startswith(dist_prefix):
            continue
        if len(e.arcname) > len(dist_prefix):
            deps.append((e, PurePosixPath(e.arcname[len(dist_prefix) :])))
    # Folders that are (or contain) regular Python packages: never removed as "docs".
    package_dirs: set[str] = set()
    for _e, path in deps:
        if path.name == "__init__.py":
            parts = path.parts[:-1]
            for i in range(1, len(parts) + 1):
                package_dirs.add("/".join(parts[:i]))

    removals: list[Removal] = []
    strip: list[str] = []
    for e, rel in deps:
        if any(_matches(rel, e.arcname, k) for k in keeps):
            continue
        assert e.distribution is not None
        reason: str | None = None
        if _dist_name(e.distribution) in drop:
            reason = "provided by the Lambda runtime (--exclude-runtime-provided)"
        else:
            pat = next((p for p in excludes if _matches(rel, e.arcname, p)), None)
            if pat is not None:
                reason = f"--exclude {pat}"
            elif not rel.parts[0].endswith(".dist-info"):
                found = _profile_reason(rel, profile, cache_tag, package_dirs)
                if found is not None:
                    reason = f"{profile.value}: {found}"
        if reason is not None:
            removals.append(Removal(e.arcname, e.size, e.distribution, reason))
        elif (
            profile is Profile.AGGRESSIVE
            and _SHARED_OBJECT.search(rel.name)
            and not rel.parts[0].endswith(".dist-info")
        ):
            strip.append(e.arcname)
    return SlimPlan(tuple(removals), tuple(strip))


# --- runtime-provided distributions ---------------------------------------------------


_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _requires(site: Path, dist: Distribution, target: Target, installed: set[str]) -> set[str]:
    """Installed distributions `dist` may need on the target.

    Deliberately generous: a requirement counts when its marker holds for the target
    with no extra or with any extra the distribution declares (we cannot know which
    extras were asked for), and an unparsable line counts by its leading name. More
    edges only ever keep more.
    """
    meta_path = site / dist.dist_info / "METADATA"
    try:
        text = meta_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    meta = HeaderParser().parsestr(text)
    extras = ["", *(meta.get_all("Provides-Extra") or [])]
    env = target.marker_environment
    out: set[str] = set()
    for line in meta.get_all("Requires-Dist") or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            m = _NAME_RE.match(line)
            if m:
                out.add(canonicalize_name(m.group(1)))
            continue
        if req.marker is not None and not _marker_holds(req.marker, env, extras):
            continue
        out.add(canonicalize_name(req.name))
    return out & installed


def _marker_holds(marker: Marker, env: dict[str, str], extras: list[str]) -> bool:
    for extra in extras:
        try:
            if marker.evaluate({**env, "extra": extra}):
                return True
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            return True
    return False


def runtime_provided_closure(
    dists: Sequence[Distribution], site: Path, target: Target
) -> tuple[set[str], str]:
    """Canonical names to leave out for --exclude-runtime-provided, and a note saying so.

    boto3, botocore, s3transfer and jmespath always go. A distribution they need goes
    too when nothing else kept needs it (walking Requires-Dist evaluated for the target)
    and the runtime itself ships it (python-dateutil, six, urllib3); anything else only
    they need (awscrt from boto3[crt]) stays, since the runtime does not have it.
    """
    by_name = {d.name: d for d in dists}
    installed = set(by_name)
    requires = {n: _requires(site, d, target, installed) for n, d in by_name.items()}
    roots = {n for n in RUNTIME_SDK if n in installed}
    if not roots:
        return set(), (
            "--exclude-runtime-provided: nothing to leave out "
            f"({', '.join(RUNTIME_SDK)} are not among the dependencies)"
        )
    reach = _closure(roots, requires, stop=set())
    # Everything outside the SDK's closure is kept, and so is what it needs (not
    # walking through the SDK itself: those needs are met by the runtime's own copies).
    needed = _closure(installed - reach, requires, stop=roots)
    drop = roots | {n for n in reach - needed if n in RUNTIME_INCLUDED}
    users_of_sdk = sorted(
        f"{by_name[n].display_name} ({', '.join(sorted(by_name[r].display_name for r in requires[n] & roots))})"
        for n in needed
        if n not in drop and requires[n] & roots
    )
    kept_needed = sorted(
        f"{by_name[n].display_name} (needed by "
        f"{', '.join(sorted(by_name[u].display_name for u in needed - drop if n in requires[u]))})"
        for n in reach & needed
        if n not in drop
    )
    kept_absent = sorted(by_name[n].display_name for n in reach - needed - drop)
    rt = target.runtime.name
    parts = [
        "--exclude-runtime-provided: left out "
        + ", ".join(f"{by_name[n].display_name} {by_name[n].version}" for n in sorted(drop))
        + f". The {rt} runtime includes {_included_text()}, in versions AWS picks and updates with the runtime; "
        "AWS recommends bundling your own copy of the SDK when you need a specific version "
        "(https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html, "
        "https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html).",
    ]
    if kept_needed:
        parts.append("Kept because other packages need them: " + "; ".join(kept_needed) + ".")
    if kept_absent:
        parts.append(
            "Kept although only the SDK needs them, because the runtime does not include them: "
            + ", ".join(kept_absent)
            + "."
        )
    if users_of_sdk:
        parts.append("These will use the runtime's SDK: " + "; ".join(users_of_sdk) + ".")
    return drop, " ".join(parts)


def _included_text() -> str:
    """'boto3 and botocore (with s3transfer, ..., six and urllib3)', from the sdk facts."""
    first, second, *rest = RUNTIME_INCLUDED
    return f"{first} and {second} (with {', '.join(rest[:-1])} and {rest[-1]})"


def _closure(start: set[str], requires: dict[str, set[str]], stop: set[str]) -> set[str]:
    seen = set(start)
    todo = [n for n in start if n not in stop]
    while todo:
        for dep in requires.get(todo.pop(), set()):
            if dep not in seen:
                seen.add(dep)
                if dep not in stop:
                    todo.append(dep)
    return seen


# --- stripping (the edge) -----------------------------------------------------------

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


def _strip_one(
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


def apply_slim(
    entries: Sequence[StagedFile], plan: SlimPlan, target: Target, work: Path, *, jobs: int | None = None
) -> SlimResult:
    """Leave out the plan's removals and strip its candidates (copies under `work`).

    Returns the new entry list (same order; stripped entries point at their copies).
    A candidate that is not a readable ELF file for the target, has nothing to strip,
    or whose stripped copy fails verification ships unchanged.
    """
    removed = {r.arcname for r in plan.removals}
    wanted = set(plan.strip) - removed
    candidates = [e for e in entries if e.arcname in wanted]
    tools = find_strip_tools(target.arch.machine) if candidates else ()
    strip_dir = work / "slim-stripped"
    workers = max(1, min(jobs or (os.cpu_count() or 1), 32, len(candidates) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda e: _strip_one(e, target, tools, strip_dir), candidates))
    new_by_name: dict[str, StagedFile] = {}
    stripped: list[tuple[str, int, int]] = []
    kept: list[tuple[str, str]] = []
    for e, (new, why) in zip(candidates, outcomes, strict=True):
        if new is not None:
            new_by_name[e.arcname] = new
            stripped.append((e.arcname, e.size, new.size))
        elif why is not None:
            kept.append((e.arcname, why))
    present = {e.arcname for e in entries}
    out = [new_by_name.get(e.arcname, e) for e in entries if e.arcname not in removed]
    return SlimResult(
        entries=out,
        removals=[r for r in plan.removals if r.arcname in present],
        stripped=stripped,
        kept_unstripped=kept,
        strip_tools=tools,
    )
