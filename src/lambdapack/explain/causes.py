"""Turn Lambda error text into causes and fixes.

Input is whatever a user pastes or pipes: one message, a `[ERROR] ...` line, a
Traceback, a JSON-formatted log record, or a whole CloudWatch excerpt with
START/END/REPORT/INIT_REPORT lines interleaved. Output is one `Explanation` per
distinct problem, in order of first appearance, each ending in a `lambdapack check`
command that confirms it and a `lambdapack build` command (or change) that fixes it.

Everything here is a pure function of the text: no files, no network. The runtime and
architecture used in the suggested commands are inferred from the text when it names
them (runtime paths, wheel/extension file names, INIT_START lines) and are otherwise
left as placeholders the user fills in.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from lambdapack.facts.runtimes import RUNTIMES

__all__ = ["CODES", "DEFAULT_MAX_BYTES", "Explanation", "explain", "keep_tail", "render_text"]

CODES: dict[str, str] = {
    "EX001": "native extension present but built for another OS, architecture or Python",
    "EX002": "module missing from the deployment package (or in the wrong folder)",
    "EX003": "handler module not at the zip root",
    "EX004": "native part of a package missing or built for another platform (cannot import name)",
    "EX005": "binary needs a newer glibc than the runtime has",
    "EX006": "binary needs a newer libstdc++ (GLIBCXX / CXXABI) than the runtime has",
    "EX007": "shared library neither on Amazon Linux nor bundled",
    "EX008": "not a Linux binary (macOS, Windows or not ELF at all)",
    "EX009": "binary for another architecture or ELF class",
    "EX010": "binary corrupted (stripped or truncated)",
    "EX011": "code does not parse on this runtime's Python",
    "EX012": "handler setting does not name a function in the module",
    "EX013": "unzipped size over Lambda's 250 MB limit",
    "EX014": "zip too large for a direct upload",
    "EX015": "files in the package not readable by the Lambda user",
    "EX016": "handler module failed to import (other cause)",
    "EX017": "urllib3 2 on a Python linked with OpenSSL older than 1.1.1",
}

_MAX_MATCHED = 300
# Input beyond this is dropped from the front: the error is usually at the end of a log,
# and a few MB of CloudWatch is thousands of invocations.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
_RT_PLACEHOLDER = "<python3.N>"
_ARCH_PLACEHOLDER = "<x86_64|arm64>"


@dataclass(frozen=True)
class Explanation:
    code: str
    title: str
    matched: str
    cause: str
    confirm: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "title": self.title,
            "matched": self.matched,
            "cause": self.cause,
            "confirm": self.confirm,
            "fix": self.fix,
        }


# --------------------------------------------------------------------------- input


_JSON_START = re.compile(r"\{")
# `aws logs tail` / console copies start each event with "<timestamp>\t<request id>\t";
# the error text is what follows.
_EVENT_PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+(?:[0-9a-f-]{8,}\s+)?")
# Literal escape sequences, as left by copying a JSON string or a Python repr.
_ESCAPED_BREAK = re.compile(r"\\r\\n|\\n|\\r")


def _unescape(line: str) -> list[str]:
    if "\\n" not in line and "\\r" not in line:
        return [line]
    parts = _ESCAPED_BREAK.split(line)
    return [p.replace('\\"', '"').replace("\\'", "'").replace("\\t", "\t") for p in parts]


def _walk_json(obj: object) -> Iterator[str]:
    """The human text inside a JSON log record, as Lambda's text format would print it."""
    if isinstance(obj, dict):
        msg = obj.get("errorMessage")
        etype = obj.get("errorType")
        if isinstance(msg, str):
            # The text format prints `[ERROR] <errorType>: <errorMessage>`; rebuilding that
            # lets the same patterns serve both formats.
            yield f"{etype}: {msg}" if isinstance(etype, str) else msg
        elif isinstance(etype, str):
            yield etype
        for key, value in obj.items():
            if key in ("errorMessage", "errorType"):
                continue
            if isinstance(value, str):
                if key in ("message", "msg", "log", "stackTrace") or "\n" in value:
                    yield value
            else:
                yield from _walk_json(value)
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, str):
                yield item
            else:
                yield from _walk_json(item)


def _lines(text: str) -> list[str]:
    """Logical lines: one per message line, whatever the log format.

    Lambda's Python runtime replaces "\\n" inside one log event with "\\r" so that a
    traceback stays one CloudWatch record; copies of it carry "\\r", real newlines, or
    JSON-escaped "\\n", and all of them must split the same way.
    """
    out: list[str] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for raw in text.split("\n"):
        line = _EVENT_PREFIX.sub("", raw.strip())
        if not line:
            continue
        m = _JSON_START.search(line)
        if m is not None:
            try:
                obj, _ = json.JSONDecoder().raw_decode(line[m.start() :])
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                for s in _walk_json(obj):
                    for sub in s.replace("\r", "\n").split("\n"):
                        out.extend(p.strip() for p in _unescape(sub) if p.strip())
                continue
        out.extend(p.strip() for p in _unescape(line) if p.strip())
    return out


# ----------------------------------------------------------------- target inference


@dataclass(frozen=True)
class _Target:
    runtime: str
    arch: str

    @property
    def flags(self) -> str:
        return f"--runtime {self.runtime} --arch {self.arch}"


# Ordered by how surely each names the function's runtime: the runtime's own paths and
# INIT_START lines first; a layer path on sys.path next; a bare mention last. Extension
# file names (cpython-311-...) are not used: a wrong one is often the very problem.
_RUNTIME_PATTERNS = (
    re.compile(r"Runtime Version:\s*python:(3\.\d+)"),
    re.compile(r"\bpython:(3\.\d+)\.v\d+"),
    re.compile(r"/var/lang/lib/python(3\.\d+)/"),
    re.compile(r"/opt/python/lib/python(3\.\d+)/site-packages"),
    # Not `\bpython`: a pattern that starts with \b gets no fast literal scan; the boundary
    # is checked in _infer_runtime.
    re.compile(r"python(3\.\d+)\b"),
)
_WORD_CHAR = re.compile(r"\w")

_ARCH_WORDS = {
    "x86_64": "x86_64",
    "x86-64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "arm64",
    "arm64": "arm64",
}
_ARCH_MENTION = re.compile(r"(?<![A-Za-z0-9])(x86[_-]64|amd64|aarch64|arm64)(?![A-Za-z0-9])")
# Mentions that describe the machine itself, not a file that may be the wrong one.
_ARCH_STRONG_LINE = re.compile(r"/var/lang/|ld-linux|[Aa]rchitectures?\b|/lib64/|/usr/lib")
# A user file that the loader refused because of its machine: the function is the other arch.
_ARCH_REFUSED_LINE = re.compile(
    r"cannot execute binary file|Exec format error|"
    r"/(?:var/task|opt)/\S+\.so(?:\.\d+)*: cannot open shared object file"
)


# Files for another OS say nothing about the function's architecture.
_ARCH_IGNORE_LINE = re.compile(r"invalid ELF header|Mach-O|macosx|darwin|win_amd64|win32", re.IGNORECASE)


def _infer_runtime(text: str) -> str:
    for pattern in _RUNTIME_PATTERNS:
        for m in pattern.finditer(text):
            if pattern is _RUNTIME_PATTERNS[-1] and m.start() > 0 and _WORD_CHAR.match(text[m.start() - 1]):
                continue
            name = f"python{m.group(1)}"
            if name in RUNTIMES:
                return name
    return _RT_PLACEHOLDER


def _infer_arch(lines: list[str]) -> str:
    strong: set[str] = set()
    weak: set[str] = set()
    for line in lines:
        found = {_ARCH_WORDS[m.group(1).lower()] for m in _ARCH_MENTION.finditer(line)}
        if not found or _ARCH_IGNORE_LINE.search(line):
            continue
        if _ARCH_REFUSED_LINE.search(line):
            weak |= {"arm64" if a == "x86_64" else "x86_64" for a in found}
        elif _ARCH_STRONG_LINE.search(line):
            strong |= found
        else:
            weak |= found
    for evidence in (strong, weak):
        if len(evidence) == 1:
            return next(iter(evidence))
        if len(evidence) > 1:
            # Contradicting evidence: a placeholder is safer than a wrong guess.
            return _ARCH_PLACEHOLDER
    return _ARCH_PLACEHOLDER


# ------------------------------------------------------------------------- helpers


def _clip(line: str) -> str:
    line = line.strip()
    return line if len(line) <= _MAX_MATCHED else line[: _MAX_MATCHED - 3] + "..."


def _check_cmd(t: _Target, layer: bool = False) -> str:
    extra = " --layer layer.zip" if layer else ""
    return f"lambdapack check function.zip {t.flags}{extra}"


def _build_cmd(t: _Target, layer: bool = False) -> str:
    if layer:
        return f"lambdapack build --layer {t.flags} -r requirements.txt -o layer.zip"
    return f"lambdapack build . {t.flags}"


def _in_layer(path: str) -> bool:
    return path.startswith("/opt/")


def _top(module: str) -> str:
    return module.split(".", 1)[0]


_PYPI_NAME = {
    "_cffi_backend": "cffi",
    "yaml": "PyYAML",
    "psycopg2": "psycopg2-binary",
    "PIL": "Pillow",
    "cv2": "opencv-python-headless",
    "sklearn": "scikit-learn",
    "grpc": "grpcio",
    "Crypto": "pycryptodome",
    "Cryptodome": "pycryptodomex",
    "nacl": "PyNaCl",
    "jwt": "PyJWT",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "bs4": "beautifulsoup4",
    "attr": "attrs",
    "magic": "python-magic",
    "MySQLdb": "mysqlclient",
}


def _dist(module: str) -> str:
    top = _top(module)
    return _PYPI_NAME.get(top, top.replace("_", "-"))


# Extension modules whose names do not start with "_" and would otherwise read as
# ordinary submodules; the loader reports them as missing when their .so is unloadable.
_KNOWN_NATIVE = frozenset(
    {
        "orjson.orjson",
        "lxml.etree",
        "lxml.objectify",
        "charset_normalizer.md",
        "rpds.rpds",
        "jiter.jiter",
        "zstandard.backend_c",
        "pyarrow.lib",
        "msgpack._cmsgpack",
        "grpc._cython.cygrpc",
        "bcrypt._bcrypt",
        "pymssql._pymssql",
        "Levenshtein.levenshtein_cpp",
        "rapidfuzz.fuzz_cpp",
        "tokenizers.tokenizers",
        "safetensors._safetensors_rust",
        "psycopg_binary.pq",
        "shapely.lib",
        "regex._regex",
        "yaml._yaml",
    }
)


def _is_native_name(module: str) -> bool:
    if module in _KNOWN_NATIVE:
        return True
    parts = module.split(".")
    if len(parts) == 1:
        # `_cffi_backend`, `_brotli`, `_argon2_cffi_bindings`: top-level compiled modules.
        # Exactly one leading underscore: dunder names are Python machinery, not wheels.
        return parts[0].startswith("_") and not parts[0].startswith("__")
    return any(p.startswith("_") and not p.startswith("__") for p in parts[1:])


# --------------------------------------------------------------------------- rules

# Quotes: CPython uses '...'; glibc uses `...' in older releases; some loggers re-quote.
_Q = r"[`'\"‘’]"

_UNABLE = re.compile(rf"Unable to import module {_Q}([\w./-]+){_Q}:\s*(.*)")
_NO_MODULE = re.compile(rf"No module named {_Q}?([\w.]+){_Q}?")
_NUMPY_C = re.compile(r"Importing the numpy C-extensions failed")
_CANNOT_IMPORT = re.compile(
    rf"cannot import name {_Q}(\w+){_Q} from (?:partially initialized module )?{_Q}([\w.]+){_Q}"
    r"(?:\s*\(([^)]*)\))?"
)
_GLIBC = re.compile(
    rf"version {_Q}(GLIBC_(\d+)\.(\d+)(?:\.\d+)?){_Q} not found(?: \(required by ([^)\s]+)\))?"
)
_GLIBCXX = re.compile(
    rf"version {_Q}((GLIBCXX|CXXABI)_([\d.]+)){_Q} not found(?: \(required by ([^)\s]+)\))?"
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
_SYNTAX = re.compile(r"Runtime\.UserCodeSyntaxError|Syntax error in module|\bSyntaxError:")
_SYNTAX_MODULE = re.compile(rf"Syntax error in module {_Q}([\w./-]+){_Q}")
_SYNTAX_FILE = re.compile(r"\(([\w./-]+\.py), line (\d+)\)|File \"([^\"]+\.py)\", line (\d+)")
_HANDLER_MISSING = re.compile(rf"Handler {_Q}([\w.]+){_Q} missing on module {_Q}([\w.]+){_Q}")
_BAD_HANDLER = re.compile(rf"Runtime\.MalformedHandlerName|Bad handler {_Q}([^'`\"]*){_Q}")
_HANDLER_NOT_FOUND = re.compile(r"Runtime\.HandlerNotFound")
_UNZIPPED = re.compile(
    r"Unzipped size must be smaller than (\d+) bytes|"
    r"Layers consume more than the available size of (\d+) bytes|"
    r"Function code combined with layers exceeds the maximum allowed size(?: of (\d+) bytes)?"
)
_REQUEST_TOO_LARGE = re.compile(
    r"RequestEntityTooLargeException|Request must be smaller than (\d+) bytes for the (\w+) operation"
)
_PERMISSION = re.compile(
    r"PermissionError: \[Errno 13\] Permission denied:?\s*(\S*)|"
    r"Layer conversion failed: Some files do not have read permissions|"
    r"\bEACCES\b|\[Errno 13\] Permission denied:?\s*(\S*)"
)
_URLLIB3 = re.compile(r"urllib3 v2(?:\.0)? only supports OpenSSL 1\.1\.1\+")
_IMPORT_MODULE_ERROR = re.compile(r"Runtime\.ImportModuleError")


@dataclass(frozen=True)
class _Hit:
    key: tuple[str, ...]
    expl: Explanation


_Rule = Callable[[str, _Target], list[_Hit]]


def _hit(key: tuple[str, ...], code: str, title: str, line: str, cause: str, confirm: str, fix: str) -> _Hit:
    return _Hit((code, *key), Explanation(code, title, _clip(line), cause, confirm, fix))


def _glibc_runtimes() -> str:
    return (
        "python3.9-python3.11 run on Amazon Linux 2 (glibc 2.26); "
        "python3.12 and later on Amazon Linux 2023 (glibc 2.34)"
    )


def _no_module(line: str, t: _Target) -> list[_Hit]:
    hits: list[_Hit] = []
    unable = _UNABLE.search(line)
    handler_module = unable.group(1) if unable else None
    for m in _NO_MODULE.finditer(line):
        mod = m.group(1)
        if handler_module is not None and mod == handler_module:
            hits.append(
                _hit(
                    (mod,),
                    "EX003",
                    f"handler module '{mod}' not found at the zip root",
                    line,
                    f"Lambda looks for '{mod}.py' at the root of the function zip (/var/task) because the "
                    f"handler setting starts with '{mod}.'. Either the file sits inside a folder in the zip "
                    "(zipping the folder instead of its contents), or the handler setting names another file.",
                    f"unzip -l function.zip | grep '{mod}.py'  (it must show '{mod}.py' with no folder), "
                    f"then: {_check_cmd(t)}",
                    f"{_build_cmd(t)}  (run in the folder that contains {mod}.py; lambdapack puts SRC_DIR's "
                    f"contents at the zip root), or set the handler to '<folder>.{mod}.<function>' / "
                    f"'{mod}.<function>' to match the zip.",
                )
            )
        elif _is_native_name(mod):
            dist = _dist(mod)
            hits.append(
                _hit(
                    (mod,),
                    "EX001",
                    f"compiled extension '{mod}' of {dist} cannot be loaded",
                    line,
                    f"The {dist} package is in the zip, but its compiled extension '{mod}' is not one this "
                    f"runtime can load: the wheel was built for another OS (macOS/Windows), another "
                    f"architecture (x86_64 vs arm64) or another Python version, typically by running pip "
                    f"on a laptop. Python then reports the .so as a missing module.",
                    f"{_check_cmd(t)}  (look for LP001 other OS, LP002 other architecture, LP005 other "
                    f"Python/ABI on {_top(mod)}/)",
                    f"{_build_cmd(t)}  (installs the {dist} wheel for the function's runtime and "
                    "architecture instead of the machine you build on).",
                )
            )
        else:
            top = _top(mod)
            dist = _dist(mod)
            if "." in mod:
                cause = (
                    f"The package '{top}' is importable but its submodule '{mod}' is not: an installed "
                    f"version of {dist} without that module (a version mismatch with the code that "
                    f"imports it), or a file or folder named '{top}' in the zip shadowing the real package."
                )
            else:
                cause = (
                    f"'{mod}' (PyPI: {dist}) is not in the deployment package or any attached layer, or "
                    f"it is there but not on sys.path: in a function zip packages must be at the zip "
                    f"root, next to the handler, not inside a subfolder such as package/ or venv/; in a "
                    f"layer they must be under python/ or python/lib/pythonX.Y/site-packages/. If it "
                    f"is in the zip, it may be a compiled module built for another platform."
                )
            hits.append(
                _hit(
                    (mod,),
                    "EX002",
                    f"module '{mod}' not found",
                    line,
                    cause,
                    f"unzip -l function.zip | grep -i '{top}'  (for a layer: unzip -l layer.zip | grep "
                    f"'python/'), then: {_check_cmd(t)}",
                    f"add {dist} to requirements.txt (or pyproject.toml) and rebuild: "
                    f"{_build_cmd(t)}  (dependencies go to the zip root; with --layer under python/).",
                )
            )
    return hits


def _numpy_c(line: str, t: _Target) -> list[_Hit]:
    if not _NUMPY_C.search(line):
        return []
    return [
        _hit(
            ("numpy._core._multiarray_umath",),
            "EX001",
            "numpy's compiled extensions cannot be loaded",
            line,
            "numpy is in the package but its C extensions (numpy._core._multiarray_umath) are for another "
            "OS, architecture or Python version, typically a wheel installed by pip on a laptop.",
            f"{_check_cmd(t)}  (look for LP001, LP002 or LP005 on numpy/)",
            f"{_build_cmd(t)}  (installs the numpy wheel for the function's runtime and architecture).",
        )
    ]


def _cannot_import(line: str, t: _Target) -> list[_Hit]:
    hits: list[_Hit] = []
    for m in _CANNOT_IMPORT.finditer(line):
        name, mod, location = m.group(1), m.group(2), m.group(3) or ""
        native = (
            name.startswith("_")
            or _is_native_name(mod)
            or _is_native_name(f"{mod}.{name}")
            or location == "unknown location"
        )
        if not native:
            continue
        dist = _dist(mod)
        hits.append(
            _hit(
                (mod, name),
                "EX004",
                f"cannot import '{name}' from {mod}: its native part is missing or unloadable",
                line,
                f"'{name}' in {mod} is (or depends on) a compiled extension of {dist}; it is missing or was "
                f"built for another OS, architecture or Python version, so the import fails part-way. "
                + (
                    "'(unknown location)' means Python found only a folder where the .so should be."
                    if location == "unknown location"
                    else ""
                ),
                f"{_check_cmd(t)}  (look for LP001, LP002 or LP005 on {_top(mod)}/)",
                f"{_build_cmd(t)}  (installs {dist} as a wheel for the function's target, including "
                "its compiled speedups).",
            )
        )
    return hits


def _glibc(line: str, t: _Target) -> list[_Hit]:
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
        _hit(
            (sym, by),
            "EX005",
            f"{sym} not found: binary built for glibc {major}.{minor}",
            line,
            f"{who} was built against glibc {major}.{minor} (a manylinux_{major}_{minor} wheel or a "
            f"binary compiled on a newer Linux), newer than the runtime's: {_glibc_runtimes()}.{have}",
            f"{_check_cmd(t, _in_layer(by))}  (look for LP003)",
            f"{_build_cmd(t, _in_layer(by))}  (lambdapack only picks manylinux wheels no newer than the "
            f"runtime's glibc){move}.",
        )
    ]


def _glibcxx(line: str, t: _Target) -> list[_Hit]:
    m = _GLIBCXX.search(line)
    if m is None:
        return []
    sym, kind, by = m.group(1), m.group(2), m.group(4) or ""
    who = by or "a binary in the package"
    return [
        _hit(
            (sym, by),
            "EX006",
            f"{sym} not found: binary needs a newer libstdc++",
            line,
            f"{who} was compiled with a newer C++ toolchain and needs {kind} version {sym}. The runtime's "
            "libstdc++ is too old: Amazon Linux 2 (python3.9-3.11) provides up to GLIBCXX_3.4.24 / "
            "CXXABI_1.3.11, Amazon Linux 2023 (python3.12+) up to GLIBCXX_3.4.29 / CXXABI_1.3.13.",
            f"{_check_cmd(t, _in_layer(by))}  (look for LP004)",
            f"{_build_cmd(t, _in_layer(by))}  (picks a wheel whose manylinux tag matches the runtime), or "
            "move to python3.12+; if the package only ships newer builds, pin an older version.",
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


def _missing_so(line: str, t: _Target) -> list[_Hit]:
    hits: list[_Hit] = []
    own = _OWN_SO.search(line)
    if own is not None and own.group(1).startswith(("/var/task/", "/opt/")):
        path = own.group(1)
        hits.append(
            _hit(
                (path,),
                "EX009",
                f"{path} exists but the loader refuses it",
                line,
                f"The loader reports {path} itself as missing although the file is in the package: that is "
                "what glibc says when a shared object is for another machine (x86_64 vs arm64). The "
                "package was installed for a different architecture than the function's.",
                f"{_check_cmd(t, _in_layer(path))}  (look for LP002)",
                f"{_build_cmd(t, _in_layer(path))}  (the --arch must match the function's architecture "
                "setting).",
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
        _hit(
            (lib,),
            "EX007",
            f"shared library {lib} not found",
            line,
            f"A compiled module needs {lib}, which is not part of the Lambda runtime's Amazon Linux image "
            "and is not bundled in the package or a layer (the build machine had it installed system-wide).",
            f"{_check_cmd(t)}  (lists the libraries each binary needs that the runtime lacks)",
            f"{change}ship {lib} in a layer under lib/ (/opt/lib is on LD_LIBRARY_PATH) or in the "
            f"function zip under lib/ (/var/task/lib), then rebuild: {_build_cmd(t)}",
        )
    )
    return hits


def _bad_binary(line: str, t: _Target) -> list[_Hit]:
    m = _INVALID_ELF.search(line)
    mach = _MACHO.search(line)
    if m is not None or mach is not None:
        path = (m.group(1) if m is not None else None) or ""
        return [
            _hit(
                ("elf", path),
                "EX008",
                f"{path or 'a binary'} is not a Linux binary",
                line,
                f"{path or 'The file'} is named like a Linux shared object but is a macOS (Mach-O) or Windows "
                "binary, or not a binary at all (a Git LFS pointer, an HTML error page): the package was "
                "installed on macOS/Windows and zipped as-is.",
                f"{_check_cmd(t, _in_layer(path))}  (look for LP001 or LP008)",
                f"{_build_cmd(t, _in_layer(path))}  (downloads Linux wheels for the target from any OS).",
            )
        ]
    m = _ELF_CLASS.search(line)
    if m is not None:
        path, cls = m.group(1) or "", m.group(2)
        bits = "32-bit" if cls == "ELFCLASS32" else "64-bit"
        return [
            _hit(
                ("class", path),
                "EX009",
                f"{path or 'a binary'} is {bits} ({cls})",
                line,
                f"{path or 'A shared object'} is a {bits} ELF file; Lambda's x86_64 and arm64 runtimes "
                "load only 64-bit code for their own machine.",
                f"{_check_cmd(t, _in_layer(path))}  (look for LP002)",
                f"{_build_cmd(t, _in_layer(path))}",
            )
        ]
    m = _EXEC_FORMAT.search(line)
    if m is not None:
        path = (m.group(1) or m.group(2) or "").strip("'\"")
        return [
            _hit(
                ("exec", path),
                "EX009",
                f"{path or 'an executable'} is for another architecture",
                line,
                f"{path or 'An executable in the package'} cannot run on the function's machine: it was "
                "built for another architecture (x86_64 vs arm64) or OS.",
                f"{_check_cmd(t, _in_layer(path))}  (look for LP001 or LP002)",
                f"{_build_cmd(t, _in_layer(path))}; for executables you ship yourself, download the "
                "Linux build matching --arch.",
            )
        ]
    m = _ALIGN.search(line)
    if m is not None:
        path = m.group(1) or ""
        return [
            _hit(
                ("align", path),
                "EX010",
                f"{path or 'a shared object'} is corrupted",
                line,
                f"{path or 'A shared object'} has a damaged or truncated ELF layout. The usual cause is "
                "running `strip` on it while packaging (e.g. serverless-python-requirements with "
                "slim: true), or a truncated copy.",
                f"{_check_cmd(t, _in_layer(path))}  (look for LP006 or LP008)",
                f"do not strip that file (serverless: slim: false, or add it to slimPatterns exclusions), "
                f"or build with {_build_cmd(t, _in_layer(path))}  (lambdapack never strips binaries).",
            )
        ]
    return []


def _syntax(line: str, t: _Target) -> list[_Hit]:
    if _SYNTAX.search(line) is None:
        return []
    mod_m = _SYNTAX_MODULE.search(line)
    mod = mod_m.group(1) if mod_m else ""
    file_m = _SYNTAX_FILE.search(line)
    where = ""
    if file_m is not None:
        where = f"{file_m.group(1) or file_m.group(3)}, line {file_m.group(2) or file_m.group(4)}"
    py = "python3" if t.runtime == _RT_PLACEHOLDER else t.runtime
    target_file = (file_m.group(1) or file_m.group(3)) if file_m else (f"{mod}.py" if mod else "<file>.py")
    return [
        _hit(
            # One per excerpt: the [ERROR] line and its traceback's SyntaxError are the same problem.
            ("syntax",),
            "EX011",
            f"syntax error in {('module ' + repr(mod)) if mod else 'the code'}"
            + (f" ({where})" if where else ""),
            line,
            "The code does not parse on the runtime's Python: either a real syntax error, or syntax newer "
            "than the runtime (`match` needs 3.10; PEP 695 `type X = ...` / generic `def f[T]` and PEP 701 "
            "f-strings need 3.12), in your code or in a dependency installed for a newer Python.",
            f"{py} -m py_compile {target_file}; then: {_check_cmd(t)}",
            "fix the line, or set the function's runtime to the Python the code is written for and "
            f"rebuild for it: {_build_cmd(t)}",
        )
    ]


def _handler(line: str, t: _Target) -> list[_Hit]:
    m = _HANDLER_MISSING.search(line)
    if m is not None:
        func, mod = m.group(1), m.group(2)
        return [
            _hit(
                ("missing", mod, func),
                "EX012",
                f"function '{func}' not found in module '{mod}'",
                line,
                f"The handler setting is '{mod}.{func}', and {mod}.py imported fine but defines no "
                f"top-level '{func}' (renamed, misspelt, or nested inside another block).",
                f"grep -n 'def ' {mod.replace('.', '/')}.py",
                f"set the function's handler to '{mod}.<name of the function>' (aws lambda "
                f"update-function-configuration --handler {mod}.<function>), or rename the function to "
                f"'{func}'.",
            )
        ]
    m = _BAD_HANDLER.search(line)
    if m is not None or _HANDLER_NOT_FOUND.search(line):
        return [
            _hit(
                ("handler",),
                "EX012",
                "handler setting is invalid",
                line,
                "The function's handler setting must be '<module>.<function>' (e.g. "
                "'lambda_function.lambda_handler'); the one configured does not name a function Lambda "
                "can find.",
                "aws lambda get-function-configuration --function-name <fn> --query Handler",
                "aws lambda update-function-configuration --function-name <fn> --handler <module>.<function>",
            )
        ]
    return []


def _size(line: str, t: _Target) -> list[_Hit]:
    m = _UNZIPPED.search(line)
    if m is not None:
        return [
            _hit(
                ("unzipped",),
                "EX013",
                "deployment over the 250 MB unzipped limit",
                line,
                "The function code plus all its layers unzip to more than 262144000 bytes (250 MB), "
                "Lambda's hard limit for zip deployments. Common culprits: boto3/botocore (already in the "
                "runtime), tests, caches, and large libraries such as pandas + numpy + scipy together.",
                f"{_check_cmd(t, layer=True)}  (look for LP101: it totals function and layers)",
                f"{_build_cmd(t)} --with-layer layer.zip --exclude-tests  (drop what the runtime already "
                "provides and unneeded extras); if still too large, use a container image (10 GB).",
            )
        ]
    m = _REQUEST_TOO_LARGE.search(line)
    if m is not None:
        return [
            _hit(
                ("request",),
                "EX014",
                "zip too large for a direct upload",
                line,
                "The zip was sent inline in the API request (e.g. --zip-file fileb://...), which Lambda "
                "accepts only up to 50 MB zipped; the request body (base64) was "
                + (f"over {m.group(1)} bytes." if m.group(1) else "over the limit."),
                f"{_check_cmd(t)}  (look for LP102)",
                "upload the zip to S3 and deploy from there (aws lambda update-function-code "
                "--s3-bucket B --s3-key K), or move dependencies to a layer: "
                f"lambdapack build . {t.flags} --split",
            )
        ]
    return []


def _permission(line: str, t: _Target) -> list[_Hit]:
    m = _PERMISSION.search(line)
    if m is None:
        return []
    path = m.group(1) or m.group(2) or ""
    path = path.strip("'\"")
    return [
        _hit(
            ("perm",),
            "EX015",
            f"permission denied{(' on ' + path) if path else ''}",
            line,
            "Lambda runs your code as a non-owner user, so every file must be world-readable (o+r) and "
            "every directory world-executable (o+x). The zip was made on Windows or from files with "
            "restrictive modes (e.g. 0600 from a umask or a secrets tool)"
            + (
                ". Writing under /var/task at run time is also refused: only /tmp is writable."
                if path.startswith("/var/task")
                else "."
            ),
            "zipinfo function.zip | grep -v '^-rw-r--r--\\|^drwxr-xr-x'  (lists members without 0644/0755)",
            f"{_build_cmd(t)}  (writes every file as 0644, 0755 if executable, and directories 0755); or "
            "chmod -R o+rX before zipping.",
        )
    ]


def _urllib3(line: str, t: _Target) -> list[_Hit]:
    if not _URLLIB3.search(line):
        return []
    return [
        _hit(
            ("urllib3",),
            "EX017",
            "urllib3 2 needs OpenSSL 1.1.1+",
            line,
            "urllib3 2.x requires Python's ssl module to be linked with OpenSSL 1.1.1 or newer; this "
            "runtime's is older.",
            f"{_check_cmd(t)}",
            f"pin urllib3<2 in requirements.txt (or move to a newer runtime) and rebuild: {_build_cmd(t)}",
        )
    ]


# Order matters only within one line: specific rules first; the generic import error
# runs only when none of them matched that line.
# Each with the words (lower case) one of which every pattern of the rule contains: a rule
# runs only on lines that have one, so a long log costs a substring scan per line, not a
# dozen regex searches (4 MiB of random bytes: 4.6 s before).
_RULES: tuple[tuple[_Rule, tuple[str, ...]], ...] = (
    (_glibc, ("not found",)),
    (_glibcxx, ("not found",)),
    (_bad_binary, ("invalid elf header", "mach-o", "pe32", "wrong elf class", "cannot execute binary file",
                   "exec format error", "elf load command", "file too short")),
    (_missing_so, ("cannot open shared object file",)),
    (_numpy_c, ("numpy c-extensions",)),
    (_cannot_import, ("cannot import name",)),
    (_no_module, ("no module named",)),
    (_syntax, ("syntaxerror", "syntax error in module")),
    (_handler, ("missing on module", "malformedhandlername", "bad handler", "handlernotfound")),
    (_size, ("unzipped size must be smaller", "layers consume more", "function code combined",
             "requestentitytoolarge", "request must be smaller")),
    (_permission, ("permission denied", "layer conversion failed", "eacces")),
    (_urllib3, ("urllib3 v2",)),
)
_GENERIC_TRIGGER = "unable to import module"
_BARE_TRIGGER = "importmoduleerror"


def _generic_import(line: str, t: _Target) -> list[_Hit]:
    m = _UNABLE.search(line)
    if m is None:
        return []
    mod, reason = m.group(1), m.group(2).strip()
    return [
        _hit(
            ("unable", mod, reason),
            "EX016",
            f"handler module '{mod}' failed to import",
            line,
            f"Importing {mod}.py raised an error at init time: {reason or 'see the traceback that follows'}. "
            "Typical causes are a dependency that raises on import (missing configuration, a native "
            "extension for another platform) or code that fails at module level.",
            f"{_check_cmd(t)}; reproduce locally: python -c 'import {mod}'",
            f"{_build_cmd(t)}  (rules out platform problems), then fix the error named above.",
        )
    ]


def _bare_import_error(t: _Target, line: str) -> _Hit:
    return _hit(
        ("bare",),
        "EX016",
        "Runtime.ImportModuleError without details",
        line,
        "The handler module failed to import at init; the log excerpt does not include the message "
        "saying why (it is on the [ERROR] line of the init phase).",
        f"{_check_cmd(t)}; and look for the '[ERROR] Runtime.ImportModuleError: Unable to import module' "
        "line in the function's log group",
        f"{_build_cmd(t)}  (then paste the full [ERROR] line into lambdapack explain)",
    )


# --------------------------------------------------------------------------- API


def explain(text: str) -> list[Explanation]:
    """All distinct problems in `text`, in order of first appearance; [] if none recognised."""
    lines = _lines(text)
    joined = "\n".join(lines)
    # The raw text too: JSON platform records carry "runtimeVersion" in fields that are
    # not messages and so are not among `lines`.
    target = _Target(_infer_runtime(joined + "\n" + text), _infer_arch(lines))
    seen: set[tuple[str, ...]] = set()
    out: list[Explanation] = []
    bare: str | None = None
    for line in lines:
        low = line.lower()
        hits = [h for rule, words in _RULES if any(w in low for w in words) for h in rule(line, target)]
        if not hits and _GENERIC_TRIGGER in low:
            hits = _generic_import(line, target)
        if not hits and bare is None and _BARE_TRIGGER in low and _IMPORT_MODULE_ERROR.search(line):
            bare = line
        for h in hits:
            if h.key not in seen:
                seen.add(h.key)
                out.append(h.expl)
    # INIT_REPORT and platform records repeat the error type without the message; they
    # only matter when the message itself is not in the excerpt.
    if bare is not None and not out:
        out.append(_bare_import_error(target, bare).expl)
    return out


def keep_tail(chunks: Iterable[bytes], limit: int) -> tuple[bytes, int]:
    """The last `limit` bytes of a stream given as chunks, and the stream's total size,
    holding at most `limit` bytes plus one chunk at any time. When input was dropped, the
    partial line it leaves at the front is dropped too (it may start mid-character)."""
    kept: collections.deque[bytes] = collections.deque()
    held = total = 0
    for chunk in chunks:
        kept.append(chunk)
        held += len(chunk)
        total += len(chunk)
        while kept and held - len(kept[0]) >= limit:
            held -= len(kept.popleft())
    data = b"".join(kept)
    if len(data) <= limit:
        return data, total
    data = data[len(data) - limit :]
    cut = data.find(b"\n")
    return (data[cut + 1 :] if cut >= 0 else data), total


def render_text(expls: list[Explanation]) -> str:
    """Human-readable report of `explain`'s result."""
    if not expls:
        return (
            "The text was not recognised as a known Lambda packaging or import error.\n"
            f"Check the package directly: lambdapack check PATH --runtime {_RT_PLACEHOLDER} "
            f"--arch {_ARCH_PLACEHOLDER} [--layer ZIP]...\n"
        )
    blocks: list[str] = []
    for i, e in enumerate(expls, 1):
        blocks.append(
            f"{i}. {e.code} {e.title}\n"
            f"   matched: {e.matched}\n"
            f"   cause:   {e.cause}\n"
            f"   confirm: {e.confirm}\n"
            f"   fix:     {e.fix}\n"
        )
    return "\n".join(blocks)
