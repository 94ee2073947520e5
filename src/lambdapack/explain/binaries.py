"""Rules for binaries the loader refuses: glibc and libstdc++ too old, shared libraries
missing, files for another OS or architecture, corrupted ELF files, an old OpenSSL."""

from __future__ import annotations

import re

from lambdapack.explain.commands import build_command, check_command, in_layer
from lambdapack.explain.hits import QUOTE, Advice, Hit, hit
from lambdapack.explain.platforms import glibc_by_os, libstdcxx_by_os, newest_os_first_runtime
from lambdapack.explain.target import InferredTarget
from lambdapack.facts.runtimes import RUNTIMES

__all__ = ["bad_binary", "glibc_version", "libstdcxx_version", "missing_library", "urllib3_openssl"]

_GLIBC = re.compile(
    rf"version {QUOTE}(GLIBC_(\d+)\.(\d+)(?:\.\d+)?){QUOTE} not found(?: \(required by ([^)\s]+)\))?"
)
_GLIBCXX = re.compile(
    rf"version {QUOTE}((GLIBCXX|CXXABI)_([\d.]+)){QUOTE} not found(?: \(required by ([^)\s]+)\))?"
)

# A path before the message is tried only where a word starts, `(?<!\S)` / `(?<![^...])`,
# and from the word's first "/": the leftmost match, as without them, but one scan per word
# instead of one per character (a long line of a/a/a/... took minutes). A library name is
# at most NAME_MAX (255) bytes: that bounds the scan from each "lib".
_PATH = r"(?<!\S)[^\s/]*(/\S+?)"
_MISSING_SO = re.compile(
    r"((?:(?<![^\s:'\"`])[^\s:'\"`]+/)?(lib[\w+.-]{0,250}?\.so(?:\.\d+)*)): cannot open shared object file"
)
_OWN_SO = re.compile(r"(?<!\S)[^\s/]*(/\S+?\.so(?:\.\d+)*): cannot open shared object file")
_INVALID_ELF = re.compile(rf"(?:{_PATH}:\s*)?invalid ELF header")
_MACHO = re.compile(r"\bMach-O\b|\bmach-o\b|\bPE32\+? executable\b", re.IGNORECASE)
_ELF_CLASS = re.compile(rf"(?:{_PATH}:\s*)?wrong ELF class: (ELFCLASS\d+)")
_EXEC_FORMAT = re.compile(
    rf"(?:{_PATH}:\s*)?(?:cannot execute binary file|\[Errno 8\] Exec format error)(?::\s*(\S+))?"
)
_ALIGN = re.compile(
    rf"(?:{_PATH}:\s*)?(?:ELF load command (?:address/offset )?not (?:properly|page)[- ]aligned|"
    r"ELF load command alignment not page-aligned|file too short)"
)
_URLLIB3 = re.compile(r"urllib3 v2(?:\.0)? only supports OpenSSL 1\.1\.1\+")


def glibc_version(line: str, t: InferredTarget) -> list[Hit]:
    """EX005: a binary that needs a newer glibc than the runtime's."""
    m = _GLIBC.search(line)
    if m is None:
        return []
    sym, major, minor, by = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4) or ""
    need = (major, minor)
    who = by or "A binary in the package"
    have = ""
    rt = RUNTIMES.get(t.runtime)
    if rt is not None and rt.glibc < need:
        have = f" This function's runtime, {rt.name}, has glibc {rt.glibc[0]}.{rt.glibc[1]}."
    fits = [name for name, r in RUNTIMES.items() if r.glibc >= need]
    move = (
        f"; or move the function to {fits[0]} or later, whose glibc is new enough"
        if fits
        else " (no Lambda Python runtime has that glibc yet: use an older version of the package)"
    )
    return [
        hit(
            (sym, by),
            "EX005",
            line,
            Advice(
                title=f"{sym} not found: binary built for glibc {major}.{minor}",
                cause=f"{who} was built against glibc {major}.{minor} (a manylinux_{major}_{minor} wheel or a "
                f"binary compiled on a newer Linux), newer than the runtime's: {glibc_by_os()}.{have}",
                confirm=f"{check_command(t, in_layer(by))}  (look for LP003)",
                fix=f"{build_command(t, in_layer(by))}  (lambdapack only picks manylinux wheels no newer than the "
                f"runtime's glibc){move}.",
            ),
        )
    ]


def libstdcxx_version(line: str, t: InferredTarget) -> list[Hit]:
    """EX006: a binary that needs a newer libstdc++ than the runtime's."""
    m = _GLIBCXX.search(line)
    if m is None:
        return []
    sym, kind, by = m.group(1), m.group(2), m.group(4) or ""
    who = by or "a binary in the package"
    return [
        hit(
            (sym, by),
            "EX006",
            line,
            Advice(
                title=f"{sym} not found: binary needs a newer libstdc++",
                cause=f"{who} was compiled with a newer C++ toolchain and needs {kind} version {sym}. The runtime's "
                f"libstdc++ is too old: {libstdcxx_by_os()}.",
                confirm=f"{check_command(t, in_layer(by))}  (look for LP004)",
                fix=f"{build_command(t, in_layer(by))}  (picks a wheel whose manylinux tag matches the runtime), or "
                f"move to {newest_os_first_runtime()}+; if the package only ships newer builds, pin an older version.",
            ),
        )
    ]


# Libraries whose usual cure is a different wheel, not shipping the .so by hand.
_LIB_HINTS = {
    "libpq.so": "use psycopg2-binary (or psycopg[binary]) instead of psycopg2: it bundles libpq",
    "libmysqlclient.so": "use PyMySQL (pure Python) or a mysqlclient build that bundles libmysqlclient",
    "libGL.so": "use opencv-python-headless instead of opencv-python: it does not need libGL",
    "libgthread-2.0.so": "use opencv-python-headless instead of opencv-python",
    "libmagic.so": "ship libmagic.so.1 in a layer's lib/ or use python-magic-bin / puremagic",
    "libzbar.so": "ship libzbar.so in a layer's lib/",
    "libcrypt.so.1": "AL2023 (python3.12+) has no libcrypt.so.1; use a wheel built for manylinux_2_34 or "
    "ship libcrypt.so.1 in a layer's lib/",
    "libssl.so": "use a wheel that bundles OpenSSL (manylinux wheels vendor it) rather than the system one",
    "libcrypto.so": "use a wheel that bundles OpenSSL (manylinux wheels vendor it) rather than the system one",
}


def missing_library(line: str, t: InferredTarget) -> list[Hit]:
    """EX007, EX009: a shared library not found, or the package's own refused."""
    hits: list[Hit] = []
    own = _OWN_SO.search(line)
    if own is not None and own.group(1).startswith(("/var/task/", "/opt/")):
        path = own.group(1)
        hits.append(
            hit(
                (path,),
                "EX009",
                line,
                Advice(
                    title=f"{path} exists but the loader refuses it",
                    cause=f"The loader reports {path} itself as missing although the file is in the package: that is "
                    "what glibc says when a shared object is for another machine (x86_64 vs arm64). The "
                    "package was installed for a different architecture than the function's.",
                    confirm=f"{check_command(t, in_layer(path))}  (look for LP002)",
                    fix=f"{build_command(t, in_layer(path))}  (the --arch must match the function's architecture "
                    "setting).",
                ),
            )
        )
        return hits
    m = _MISSING_SO.search(line)
    if m is None:
        return hits
    lib = m.group(2)
    stem = re.sub(r"(\.so)(?:\.\d+)*$", r"\1", lib)
    hint = _LIB_HINTS.get(lib) or _LIB_HINTS.get(stem)
    change = (
        hint + "; or "
        if hint
        else "use a wheel that bundles it (manylinux wheels vendor their libraries), or "
    )
    hits.append(
        hit(
            (lib,),
            "EX007",
            line,
            Advice(
                title=f"shared library {lib} not found",
                cause=f"A compiled module needs {lib}, which is not part of the Lambda runtime's Amazon Linux image "
                "and is not bundled in the package or a layer (the build machine had it installed system-wide).",
                confirm=f"{check_command(t)}  (lists the libraries each binary needs that the runtime lacks)",
                fix=f"{change}ship {lib} in a layer under lib/ (/opt/lib is on LD_LIBRARY_PATH) or in the "
                f"function zip under lib/ (/var/task/lib), then rebuild: {build_command(t)}",
            ),
        )
    )
    return hits


def bad_binary(line: str, t: InferredTarget) -> list[Hit]:
    """EX008-EX010: a file the loader refuses for its format, class, machine or layout."""
    # The first that matches: one loader message names one problem.
    for rule in (_not_linux, _wrong_elf_class, _exec_format, _corrupted):
        hits = rule(line, t)
        if hits:
            return hits
    return []


def _not_linux(line: str, t: InferredTarget) -> list[Hit]:
    """A file named like a Linux shared object that is not ELF."""
    m = _INVALID_ELF.search(line)
    mach = _MACHO.search(line)
    if m is None and mach is None:
        return []
    path = (m.group(1) if m is not None else None) or ""
    return [
        hit(
            ("elf", path),
            "EX008",
            line,
            Advice(
                title=f"{path or 'a binary'} is not a Linux binary",
                cause=f"{path or 'The file'} is named like a Linux shared object but is a macOS (Mach-O) or Windows "
                "binary, or not a binary at all (a Git LFS pointer, an HTML error page): the package was "
                "installed on macOS/Windows and zipped as-is.",
                confirm=f"{check_command(t, in_layer(path))}  (look for LP001 or LP008)",
                fix=f"{build_command(t, in_layer(path))}  (downloads Linux wheels for the target from any OS).",
            ),
        )
    ]


def _wrong_elf_class(line: str, t: InferredTarget) -> list[Hit]:
    """An ELF file of the wrong class: Lambda loads only 64-bit code."""
    m = _ELF_CLASS.search(line)
    if m is None:
        return []
    path, cls = m.group(1) or "", m.group(2)
    bits = "32-bit" if cls == "ELFCLASS32" else "64-bit"
    return [
        hit(
            ("class", path),
            "EX009",
            line,
            Advice(
                title=f"{path or 'a binary'} is {bits} ({cls})",
                cause=f"{path or 'A shared object'} is a {bits} ELF file; Lambda's x86_64 and arm64 runtimes "
                "load only 64-bit code for their own machine.",
                confirm=f"{check_command(t, in_layer(path))}  (look for LP002)",
                fix=f"{build_command(t, in_layer(path))}",
            ),
        )
    ]


def _exec_format(line: str, t: InferredTarget) -> list[Hit]:
    """An executable the kernel refuses to run."""
    m = _EXEC_FORMAT.search(line)
    if m is None:
        return []
    path = (m.group(1) or m.group(2) or "").strip("'\"")
    return [
        hit(
            ("exec", path),
            "EX009",
            line,
            Advice(
                title=f"{path or 'an executable'} is for another architecture",
                cause=f"{path or 'An executable in the package'} cannot run on the function's machine: it was "
                "built for another architecture (x86_64 vs arm64) or OS.",
                confirm=f"{check_command(t, in_layer(path))}  (look for LP001 or LP002)",
                fix=f"{build_command(t, in_layer(path))}; for executables you ship yourself, download the "
                "Linux build matching --arch.",
            ),
        )
    ]


def _corrupted(line: str, t: InferredTarget) -> list[Hit]:
    """An ELF file whose layout is damaged, usually by `strip`."""
    m = _ALIGN.search(line)
    if m is None:
        return []
    path = m.group(1) or ""
    return [
        hit(
            ("align", path),
            "EX010",
            line,
            Advice(
                title=f"{path or 'a shared object'} is corrupted",
                cause=f"{path or 'A shared object'} has a damaged or truncated ELF layout. The usual cause is "
                "running `strip` on it while packaging (e.g. serverless-python-requirements with "
                "slim: true), or a truncated copy.",
                confirm=f"{check_command(t, in_layer(path))}  (look for LP006 or LP008)",
                fix=f"do not strip that file (serverless: slim: false, or add it to slimPatterns exclusions), "
                f"or build with {build_command(t, in_layer(path))}  (lambdapack never strips binaries).",
            ),
        )
    ]


def urllib3_openssl(line: str, t: InferredTarget) -> list[Hit]:
    """EX017: urllib3 2 on a Python with an older OpenSSL."""
    if not _URLLIB3.search(line):
        return []
    return [
        hit(
            ("urllib3",),
            "EX017",
            line,
            Advice(
                title="urllib3 2 needs OpenSSL 1.1.1+",
                cause="urllib3 2.x requires Python's ssl module to be linked with OpenSSL 1.1.1 or newer; this "
                "runtime's is older.",
                confirm=f"{check_command(t)}",
                fix=f"pin urllib3<2 in requirements.txt (or move to a newer runtime) and rebuild: {build_command(t)}",
            ),
        )
    ]
