"""Requirements files: read bounded and checked to be text, parsed as pip's parser would
(continuations, comments, `-r` includes), and piped inputs (`-r -`, `-r <(...)`) read once."""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.requirements import Requirement

from lambdapack.errors import InputError
from lambdapack.resolve.inputs import MAX_REQUIREMENTS_BYTES, STDIN_NAME, Piped, Requirements, display_path

__all__ = [
    "absolute_includes",
    "decode_requirements",
    "is_piped_path",
    "parse_requirements_text",
    "piped_requirements",
    "read_piped",
    "read_requirements_file",
    "read_text_file",
    "split_line_options",
    "uv_requirements_text",
    "with_built_hashes",
    "write_uv_copies",
]


def decode_requirements(data: bytes, name: str, what: str = "requirements file") -> str:
    """The text of a requirements file (or another `what`), or an InputError saying why it is not one."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # Notepad's UTF-8 signature; pip skips it too
    nul = data.find(b"\0")
    if nul >= 0:
        raise _not_text(name, what, data, nul, "a NUL byte")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _not_text(name, what, data, e.start, "not UTF-8") from None


def _not_text(name: str, what: str, data: bytes, offset: int, why: str) -> InputError:
    line = data.count(b"\n", 0, offset) + 1
    return InputError(
        f"{name} is not a text {what}: byte {offset} (line {line}; bytes count from 0) is 0x{data[offset]:02x}, {why}",
        f"pass a {what} saved as UTF-8 text (a file written by PowerShell's `>` is UTF-16: re-save it as UTF-8)",
    )


def _too_large(name: str, what: str) -> InputError:
    return InputError(
        f"{name} is larger than {MAX_REQUIREMENTS_BYTES // (1024 * 1024)} MiB, the limit for a {what}",
        "check that it is the file you meant (a lock export of a large project is about 1 MB)",
    )


def _read_bounded(stream: BinaryIO, name: str, what: str = "requirements file") -> bytes:
    """At most MAX_REQUIREMENTS_BYTES of `stream`, read once; one byte more is an error."""
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_REQUIREMENTS_BYTES:
        chunk = stream.read(min(1 << 20, MAX_REQUIREMENTS_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > MAX_REQUIREMENTS_BYTES:
        raise _too_large(name, what)
    return b"".join(chunks)


def read_text_file(path: Path, what: str = "requirements file") -> str:
    """A requirements-like file's text, bounded and checked to be text. OSError propagates."""
    with path.open("rb") as f:
        st = os.fstat(f.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_size > MAX_REQUIREMENTS_BYTES:
            raise _too_large(str(path), what)  # without reading it
        return decode_requirements(_read_bounded(f, str(path), what), str(path), what)


def is_piped_path(path: Path) -> bool:
    """Whether `path` must be read exactly once by us: `-` (standard input), a pipe or
    other non-regular file, or a /dev/fd/N or /proc path (bash's `<(...)`), which names
    one of *our* descriptors and so means nothing to uv in its own process."""
    text = str(path)
    if text == STDIN_NAME:
        return True
    if text.startswith(("/dev/", "/proc/")):
        return True
    try:
        return not stat.S_ISREG(path.stat().st_mode) and not path.is_dir()
    except OSError:
        return False  # the caller reports a missing file


INCLUDE_LINE = re.compile(r"^(\s*(?:-r|--requirement|-c|--constraint)(?:\s+|\s*=\s*))(\S+)(.*)$")


def absolute_includes(text: str, base: Path) -> str:
    """`text` with every relative -r/-c path made absolute against `base` (nothing else changes)."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        m = INCLUDE_LINE.match(line)
        if m is not None and not Path(m.group(2)).is_absolute() and "://" not in m.group(2):
            line = f"{m.group(1)}{(base / m.group(2)).resolve()}{m.group(3)}"
            if not line.endswith("\n"):
                line += "\n"
        out.append(line)
    return "".join(out)


def read_piped(path: Path, stdin: BinaryIO | None, base: Path) -> Piped:
    """Read a piped requirements input exactly once (standard input when `path` is `-`);
    `base` is the directory its relative paths mean (the caller's current directory)."""
    name = display_path(path)
    if str(path) == STDIN_NAME:
        if stdin is None:
            raise InputError("-r - reads requirements from standard input, but there is none",
                             "pipe them in: cat requirements.txt | lambdapack build ... -r -")
        data = _read_bounded(stdin, name)
    else:
        try:
            with path.open("rb") as f:
                data = _read_bounded(f, name)
        except OSError as e:
            raise InputError(
                f"cannot read requirements from {path}: {e.strerror}",
                "pass a readable file with -r, or pipe the requirements in with -r -",
            ) from None
    text = decode_requirements(data, name)
    return Piped(path, absolute_includes(text, base), base)


def logical_lines(text: str) -> list[str]:
    """Join backslash continuations and drop comments, as pip's parser does."""
    out: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        line = buf + line
        buf = ""
        # A comment starts at "#" preceded by whitespace or at line start.
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            out.append(line)
    if buf.strip():
        out.append(re.sub(r"(^|\s)#.*$", "", buf).strip())
    return out


def parse_requirements_text(text: str, base: Path, _seen: frozenset[Path] = frozenset()) -> list[Requirement]:
    """Top-level named requirements of a requirements file (follows -r includes).

    Options (--index-url, -c, --hash …) are uv's business; unnamed requirements
    (paths, URLs without #egg=) are installed but cannot be name-checked.
    """
    # Imported here, not at the top: a no-change rebuild never parses requirements.
    from packaging.requirements import InvalidRequirement, Requirement

    reqs: list[Requirement] = []
    for line in logical_lines(text):
        m = re.match(r"^(-r|--requirement)[\s=]+(\S+)$", line)
        if m:
            inc = (base / m.group(2)).resolve()
            if inc in _seen:
                continue
            try:
                inc_text = read_text_file(inc)
            except OSError as e:
                raise InputError(
                    f"cannot read {inc} (included from a requirements file): {e.strerror}",
                    "fix the -r path; it is relative to the including file",
                ) from None
            reqs += parse_requirements_text(inc_text, inc.parent, _seen | {inc})
            continue
        if line.startswith("-"):
            continue
        line = split_line_options(line)[0]
        try:
            reqs.append(Requirement(line))
        except InvalidRequirement:
            if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[|[<>=!~;]|$)", line):
                raise InputError(
                    f"invalid requirement {line!r}",
                    "use PEP 508 syntax, e.g. `requests>=2.31` or `six; python_version < '3.12'`",
                ) from None
            # A path or URL: uv installs it; we cannot know its name beforehand.
            continue
    return reqs


def read_requirements_file(path: Path, work: Path | None = None) -> Requirements:
    """A requirements file; when a line carries options uv does not take on a line, the copy uv
    reads is written into `work` (without `work`, such a file is read as it is)."""
    try:
        text = read_text_file(path)
    except OSError as e:
        raise InputError(
            f"cannot read requirements file {path}: {e.strerror}",
            "pass a readable requirements.txt with -r, or --pyproject / --lock",
        ) from None
    reqs = parse_requirements_text(text, path.parent, frozenset({path.resolve()}))
    included = tuple(_included_files(text, path.parent))
    uv_file = write_uv_copies(text, path, path.parent, work) if work is not None else None
    return Requirements("requirements", path, tuple(reqs), (), included, uv_file)


def piped_requirements(piped: Piped, uv_file: Path) -> Requirements:
    """Requirements of a piped input; `uv_file` (in the work directory) is written here."""
    text = uv_requirements_text(piped.text, piped.name)
    uv_file.write_text(piped.text if text is None else absolute_includes(text, piped.base), encoding="utf-8")
    reqs = parse_requirements_text(piped.text, piped.base)
    return Requirements("requirements", piped.given, tuple(reqs), (),
                        tuple(_included_files(piped.text, piped.base)), uv_file)


def _included_files(text: str, base: Path, seen: frozenset[Path] = frozenset()) -> list[Path]:
    """Every file a requirements file pulls in (-r, -c), recursively."""
    out: list[Path] = []
    for line in logical_lines(text):
        m = re.match(r"^(-r|--requirement|-c|--constraint)[\s=]+(\S+)$", line)
        if not m:
            continue
        inc = (base / m.group(2)).resolve()
        if inc in seen:
            continue
        out.append(inc)
        try:
            out += _included_files(read_text_file(inc), inc.parent, seen | {inc})
        except (OSError, InputError):
            continue
    return out


def write_uv_copies(text: str, path: Path, base: Path, work: Path, seen: frozenset[Path] = frozenset()) -> Path | None:
    """The copy of `path` that uv reads, written into `work`, when it or a file it includes has
    per-line options uv does not take (None: uv reads the files as they are). A copy's includes
    point at their absolute paths, or at their own copies."""
    out: list[str] = []
    changed = False
    for line in text.splitlines():
        m = INCLUDE_LINE.match(line)
        if m is not None and "://" not in m.group(2):
            inc = (base / m.group(2)).resolve()
            copy = None
            if inc not in seen and inc.is_file():
                with _suppress_unreadable():
                    copy = write_uv_copies(read_text_file(inc), inc, inc.parent, work, seen | {inc})
            if copy is not None:
                line, changed = f"{m.group(1)}{copy}{m.group(3)}", True
        out.append(line)
    joined = "\n".join(out) + "\n"
    translated = uv_requirements_text(joined, str(path))
    if translated is None and not changed:
        return None
    dest = work / f"requirements-uv-{len(list(work.glob('requirements-uv-*.txt')))}.txt"
    dest.write_text(absolute_includes(joined if translated is None else translated, base), encoding="utf-8")
    return dest


def _suppress_unreadable() -> contextlib.AbstractContextManager[None]:
    # An include that cannot be read is reported by the parser (or by uv), not here.
    return contextlib.suppress(OSError, InputError)


# Per-line options pip accepts; uv's parser takes only --hash on a line, so the others are
# moved to file-level lines (scoped to the line's project) in the copy uv reads.
_VALUED = ("--hash", "--no-binary", "--only-binary", "--config-settings", "-C", "--global-option")
_FLAGS = ("--prefer-binary",)


def split_line_options(line: str) -> tuple[str, list[tuple[str, str]]]:
    """A requirement line's requirement and its options, split as pip's parser does (the first
    token that starts with "-" starts the options). An unknown option is an InputError."""
    tokens = line.split()
    first = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    opts: list[tuple[str, str]] = []
    rest = tokens[first:]
    while rest:
        token = rest.pop(0)
        name, eq, value = token.partition("=")
        if name.startswith("-C") and name != "-C" and not name.startswith("--"):
            name, value, eq = "-C", token[2:], "="  # -Ckey=value
        if name in _FLAGS and not eq:
            opts.append((name, ""))
        elif name in _VALUED and (eq or rest):
            opts.append((name, value if eq else rest.pop(0)))
        else:
            raise InputError(
                f"{line!r}: {token} is not an option pip or uv takes on a requirement line",
                "a requirement line takes --hash, --no-binary, --only-binary and --prefer-binary",
            )
    return " ".join(tokens[:first]), opts


def uv_requirements_text(text: str, where: str) -> str | None:
    """`text` as uv's parser takes it (pure): per-line --no-binary/--only-binary/--prefer-binary
    moved to file-level lines, scoped to the line's project (`:all:` on a line means that
    project); None when no line needs it. An option uv cannot honour is an InputError."""
    from packaging.requirements import InvalidRequirement, Requirement

    out: list[str] = []
    moved: list[str] = []
    for line in logical_lines(text):
        if line.startswith("-"):
            out.append(line)
            continue
        req, opts = split_line_options(line)
        if all(o == "--hash" for o, _ in opts):
            out.append(line)
            continue
        try:
            name: str | None = Requirement(req).name
        except InvalidRequirement:
            name = None  # a path or URL: uv learns its name only when it builds it
        for opt, value in opts:
            moved += _file_level(opt, value, name, req, where)
        out.append(" ".join([req, *(f"--hash={v}" for o, v in opts if o == "--hash")]))
    if not moved:
        return None
    return "\n".join([*out, *dict.fromkeys(moved)]) + "\n"


def _file_level(opt: str, value: str, name: str | None, req: str, where: str) -> list[str]:
    """The file-level lines that carry one per-line option to uv (pure)."""
    if opt == "--hash":
        return []
    if opt == "--prefer-binary":
        return ["--prefer-binary"]
    if opt in ("--no-binary", "--only-binary"):
        names = [n for n in value.split(",") if n and n != ":none:"]
        if ":all:" in names:
            if name is None:
                raise InputError(f"{where}: {opt}=:all: on {req!r}, whose project name is not known before it is built",
                                 f"name the project on that line (`name @ {req}`), or put {opt} on a line of its own")
            names = [name]
        return [f"{opt} {n}" for n in names]
    raise InputError(
        f"{where}: {req!r} sets {opt}, which uv (the installer lambdapack runs) cannot take per requirement",
        "drop the option from that line; build settings for one package go in its pyproject.toml",
    )


def with_built_hashes(text: str, built: Mapping[str, tuple[str, str]]) -> str:
    """`text` (uv's input) with each hashed requirement of a package built here from its sdist
    (canonical name -> (the sdist's sha256, the built wheel's)) held to the built wheel's hash.
    A lock names exact files: an sdist whose hash the line does not list is an InputError."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    out = []
    for line in logical_lines(text):
        req, opts = split_line_options(line) if not line.startswith("-") else (line, [])
        hashes = [v for k, v in opts if k == "--hash"]
        try:
            name = canonicalize_name(Requirement(req).name) if hashes else ""
        except InvalidRequirement:
            name = ""
        if name in built:
            sdist, wheel = built[name]
            if f"sha256:{sdist}" not in hashes:
                raise InputError(f"{req}: its source distribution (sha256 {sdist[:12]}...) is not one of the "
                                 "files the lock's hashes name",
                                 "run `uv lock` (or your lock tool) again, then rebuild")
            line = " ".join([req, *(f"{k}={v}" for k, v in opts if k != "--hash"), f"--hash=sha256:{wheel}"])
        out.append(line)
    return "\n".join(out) + "\n"
