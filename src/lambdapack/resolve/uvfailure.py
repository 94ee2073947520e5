"""What uv's failure text means: our error, with what to do (pure).

Classified from what uv 0.13 actually prints (the texts are captured in
tests/unit/test_uvfailure.py from real runs). uv's own words are kept in the message,
bounded in size: a 1 MiB requirement line makes uv print megabytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath

from packaging.utils import canonicalize_name

from lambdapack.errors import BuildError, InputError
from lambdapack.target.tags import Target

__all__ = ["bounded_lines", "classify_uv_failure", "hide_credentials", "uv_cause", "wheel_required"]

# uv's text inside one of our messages: at most this many lines and characters.
MAX_LINES = 20
MAX_CHARS = 2000

_NOISE = ("Using CPython", "Using Python", "warning:", "Resolved ", "Updating ", "Prepared ", "Downloading ")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# "Couldn't parse requirement in `r.txt` at position 4", "Invalid URL in `r.txt` at position 0", ...
_AT_POSITION = re.compile(r"in `([^`\n]+)` at position (\d+)")
# "Unexpected '-', expected '-c', '-e', '-r' or the start of a requirement: r.txt:1:1"
_AT_LINE = re.compile(r"^error: (.*): (\S.*?):(\d+):(\d+)\s*$", re.MULTILINE)
# uv 0.13's hint when --no-binary (a requirements line's, moved to a file-level line) leaves no file.
_NO_BINARY = re.compile(r"using pre-built wheels is disabled for `([^`]+)`")
_BUILD_DISABLED = re.compile(r"Building source distributions (?:for `[^`]+` )?is disabled, but attempted to build `([^`]+)`")
_FETCH_URL = re.compile(r"Failed to fetch: `?([^\s`]+?)`?\s*$", re.MULTILINE)
_GIT_URL = re.compile(r"(?:git\+)?(https?://[^\s`'\"]+|ssh://[^\s`'\"]+|git@[^\s`'\"]+)")
# The userinfo of an http(s) URL in text (also git+https): user, then an optional :password.
_USERINFO = re.compile(r"(?P<scheme>\b(?:[A-Za-z][A-Za-z0-9.-]*\+)?https?://)(?P<user>[^\s/?#:`'\"]*)"
                       r"(?P<password>:[^\s/?#`'\"]*)?@", re.IGNORECASE)  # up to the netloc's last @
# uv 0.13's hints when an index refuses the request (its URL shown without credentials).
_AUTH_HINT = re.compile(r"An index(?: URL)? \((?P<url>[^\s)]+)\)[^\n]*?(?P<status>401 Unauthorized|403 Forbidden)")


def hide_credentials(text: str) -> str:
    """``text`` with the credentials of every http(s) URL in it hidden: ``user:****@host``, or
    ``****@host`` when the user name is all there is (then it is the token)."""

    def hide(m: re.Match[str]) -> str:
        who = f"{m.group('user')}:****" if m.group("password") is not None else "****"
        return f"{m.group('scheme')}{who}@"

    return _USERINFO.sub(hide, text)


def _clip(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    keep = max(limit - 40, 20)
    return f"{line[:keep]} … {len(line) - keep} characters omitted …"


def bounded_lines(lines: Sequence[str], max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS) -> list[str]:
    """The first and last lines of `lines`, at most `max_lines` and about `max_chars` in all."""
    picked = list(lines)
    if len(picked) > max_lines:
        head = (max_lines - 1) // 2
        tail = max_lines - 1 - head
        omitted = len(picked) - head - tail
        picked = [*picked[:head], f"… {omitted} lines omitted …", *picked[len(picked) - tail:]]
    per_line = max(max_chars // max(len(picked), 1), 60)
    return [_clip(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", ln), per_line) for ln in picked]


def uv_cause(stderr: str) -> str:
    """uv's own explanation on one line, bounded (progress and interpreter notes left out)."""
    lines = [ln.strip() for ln in hide_credentials(stderr).splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(_NOISE)]
    causes = [re.sub(r"^(cause:|Caused by:|╰─▶|×|error:)\s*", "", ln) for ln in lines]
    causes = [c for c in causes if c and not c.startswith("hint:") and not re.fullmatch(r"\^+", c)]
    text = " ".join(bounded_lines(causes))
    text = text.replace("No solution found when resolving dependencies:", "").strip()
    text = text.replace("No solution found when resolving dependencies", "").strip()
    return re.sub(r"\s+", " ", text)


def _source(sources: Mapping[str, bytes], named: str) -> tuple[str, bytes] | None:
    """The requirement file uv names (uv shows paths relative to its working directory)."""
    if named in sources:
        return named, sources[named]
    want = PurePath(named).parts
    for path, data in sources.items():
        if PurePath(path).parts[-len(want):] == want:
            return path, data
    return None


def _line_at(data: bytes, position: int) -> tuple[int, bytes]:
    """1-based line number and content of the line holding byte `position` (uv counts bytes)."""
    start = data.rfind(b"\n", 0, position) + 1
    end = data.find(b"\n", position)
    return data.count(b"\n", 0, position) + 1, data[start: end if end >= 0 else len(data)]


def _bad_line(where: str, line_no: int | None, line: bytes | None, why: str) -> InputError:
    what = f"{where}, line {line_no}" if line_no is not None else where
    extra = ""
    if line is not None and b"\0" in line:
        extra = " (the line holds a NUL byte)"
    elif line is not None and len(line) > 1000:
        extra = f" (the line is {len(line)} bytes long)"
    return InputError(
        f"{what}: invalid requirement{extra}: {why}",
        "fix that line: PEP 508 syntax, e.g. `requests>=2.31` or `six; python_version < '3.12'`",
    )


def _parse_failure(stderr: str, sources: Mapping[str, bytes]) -> InputError | None:
    """uv rejected the requirement text itself: name the file and the line."""
    at = list(_AT_POSITION.finditer(stderr))
    if at:
        named, pos = at[-1].group(1), int(at[-1].group(2))  # the last one is the innermost -r include
        found = _source(sources, named)
        # uv's reason is the line after the innermost location (then it echoes the line, and a caret).
        after = [ln for ln in stderr[at[-1].end():].splitlines() if ln.strip()]
        why = uv_cause(after[0]) if after else "uv could not parse it"
        if found is None:
            return _bad_line(f"{named} (byte {pos})", None, None, why)
        line_no, line = _line_at(found[1], pos)
        return _bad_line(named, line_no, line, why)
    m = _AT_LINE.search(stderr)
    if m:
        return _bad_line(m.group(2), int(m.group(3)), None, uv_cause(m.group(1)))
    return None


def _line_naming(sources: Mapping[str, bytes], name: str) -> tuple[str, int, bytes] | None:
    """The requirement line whose project name is `name` (as it appears in an index URL)."""
    for path, data in sources.items():
        for i, raw in enumerate(data.split(b"\n"), 1):
            m = re.match(rb"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", raw)
            if m and canonicalize_name(m.group(1).decode("ascii")) == name:
                return path, i, raw
    return None


def _unrequestable(stderr: str, sources: Mapping[str, bytes]) -> InputError | None:
    """uv could not even form a request URL: a bad index option or an absurd name."""
    low = stderr.lower()
    if not ("builder error for url" in low or "not a valid uri" in low or "url scheme is not allowed" in low):
        return None
    m = _FETCH_URL.search(stderr)
    url = m.group(1) if m else "an index URL"
    last = uv_cause(stderr.strip().splitlines()[-1]) if stderr.strip() else ""
    # A bad scheme is the index's fault; otherwise the URL broke on the project name.
    name = url.rstrip("/").rsplit("/", 1)[-1] if m and "scheme is not allowed" not in low else ""
    found = _line_naming(sources, name) if name else None
    if found is not None:
        path, line_no, raw = found
        return _bad_line(path, line_no, raw, f"uv cannot request that name from the index ({last})")
    return InputError(
        f"uv cannot request {uv_cause(url)}: {last}",
        "index URLs (--index-url, --extra-index-url, or options inside the requirements file) "
        "must be http(s) or file URLs, or local directories",
    )


def _git_failure(stderr: str) -> BuildError | None:
    low = stderr.lower()
    if "git operation failed" not in low and "git fetch" not in low and "git executable" not in low:
        return None
    m = re.search(r"`[^`\n]*?@\s*git\+([^`\s]+)`", stderr) or _GIT_URL.search(stderr)
    url = m.group(1) if m else "a git repository"
    fatal = [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith(("fatal:", "error: "))]
    why = uv_cause(fatal[-1] if fatal else stderr)
    return BuildError(
        f"fetching {url} with git failed: {why}",
        "check the repository URL, that it exists, and that git can reach it (network, credentials); "
        "nothing was written",
    )


def _hash_failure(stderr: str, kind: str) -> InputError | BuildError | None:
    if "hash mismatch" not in stderr.lower():
        return None
    m = re.search(r"Hash mismatch for `([^`]+)`", stderr)
    what = m.group(1) if m else "a downloaded file"
    if kind == "lock":
        return InputError(
            f"the lock's hashes do not match the index: {what} (uv.lock lists other hashes than the files served)",
            "run `uv lock` again so that the lock records the index's files, then rebuild",
        )
    if kind == "requirements":
        return InputError(
            f"hash-checking failed: {what} does not match the --hash values in the requirements",
            "update the --hash values in your requirements (e.g. regenerate them with "
            "`uv pip compile --generate-hashes`)",
        )
    return BuildError(
        f"a downloaded file does not match the hash the index announced: {what}",
        "retry; if it persists, the index or a proxy serves a changed file",
    )


def _timeout(stderr: str, network_timeout: float | None) -> BuildError | None:
    low = stderr.lower()
    if "timed out" not in low:
        return None
    m = _FETCH_URL.search(stderr)
    url = m.group(1) if m else "the package index"
    within = f" within {network_timeout:g} s" if network_timeout is not None else " in time"
    return BuildError(
        f"the package index at {url} did not answer{within}",
        "check the index and the network; if it is only slow, raise --network-timeout "
        "(or LAMBDAPACK_NETWORK_TIMEOUT); nothing was written",
    )


_NETWORK = ("failed to fetch", "error sending request", "dns error", "connection refused", "could not connect",
            "tcp connect error", "network", "connection reset", "failed to lookup address")


_WHEEL_REQUIRED = re.compile(r"Wheels are required for `([^`]+)` because building from source is disabled")


def wheel_required(stderr: str) -> list[str]:
    """The packages a binary-only resolution failed on for want of a wheel (uv's hint names
    each), in order; --build-native builds those from their sdists."""
    return list(dict.fromkeys(m.group(1) for m in _WHEEL_REQUIRED.finditer(stderr)))


def classify_uv_failure(
    stderr: str,
    target: Target,
    kind: str = "requirements",
    *,
    sources: Mapping[str, bytes] | None = None,
    network_timeout: float | None = None,
) -> BuildError | InputError:
    """Turn uv's failure text into one of our errors (pure).

    `kind` is `Requirements.kind` (the hash advice differs for uv.lock); `sources` maps
    the requirement files uv read to their bytes, to name the offending line.
    """
    sources = sources or {}
    stderr = hide_credentials(stderr)  # every message below may quote a URL from it
    found: InputError | BuildError | None = (
        _parse_failure(stderr, sources) or _unrequestable(stderr, sources) or _auth_failure(stderr)
        or _no_binary_failure(stderr) or _build_disabled(stderr))
    if found is not None:
        return found
    cause = uv_cause(stderr)
    low = stderr.lower()
    if "was not found in the package registry" in low or "not found in the provided package locations" in low:
        m = re.search(r"Because (\S+) was not found", stderr)
        name = m.group(1) if m else "a requested package"
        return InputError(
            f"package {name} does not exist on the package index",
            "check the spelling in your requirements (or pass --index-url for a private index)",
        )
    if "has no usable wheels" in low or "no matching distribution" in low or "only has source" in low:
        m = re.search(r"Because (?:only )?(\S+?)(?:==|<|>|\s)", cause)
        name = m.group(1) if m else "a requested package"
        return BuildError(
            f"no wheel of {name} fits {target.describe()}: {cause}",
            f"pin a version that ships manylinux wheels for {target.arch.machine} "
            f"(`lambdapack why WHEEL --runtime {target.runtime.name} --arch {target.arch.value}` "
            "explains a wheel), pass --allow-sdist if it is pure Python, or --build-native to compile it for the target",
        )
    if "unsatisfiable" in low or "no solution found" in low:
        return InputError(
            f"the requirements conflict for {target}: {cause}",
            "relax or align the pins named above",
        )
    special = _git_failure(stderr) or _hash_failure(stderr, kind) or _timeout(stderr, network_timeout)
    if special is not None:
        return special
    if any(n in low for n in _NETWORK):
        m = _FETCH_URL.search(stderr)
        at = f" at {m.group(1)}" if m else ""
        return BuildError(
            f"the package index could not be reached{at}: {cause}",
            "check the network, a proxy, or --index-url; nothing was written",
        )
    if "failed to build" in low or "build backend" in low or "does not match the target platform" in low:
        return BuildError(
            f"building a package from source failed: {cause}",
            "use a version with a wheel for the target; only pure-Python sdists can be built",
        )
    return BuildError(f"uv failed: {cause or 'no message'}", "run with --debug for uv's full output")


def _no_binary_failure(stderr: str) -> InputError | None:
    """--no-binary for a project (on a requirement line) that has no usable source distribution."""
    m = _NO_BINARY.search(stderr)
    if m is None:
        return None
    return InputError(
        f"the requirements ask for {m.group(1)} to be built from source (--no-binary), "
        "and no source distribution of it can be used",
        "pass --allow-sdist to build source distributions (only pure-Python results are kept), "
        "or drop --no-binary for it",
    )


def _build_disabled(stderr: str) -> BuildError | None:
    """uv would have to build a project from source under --only-binary: a local path the build does
    not build itself (one in a file included with -r), a URL to an sdist, or a git requirement."""
    m = _BUILD_DISABLED.search(stderr)
    if m is None:
        return None
    return BuildError(
        f"{m.group(1)} can only be installed by building it from source, which this build does not do",
        "add --allow-sdist to build it (only a pure-Python result is kept); local path requirements in the "
        "requirements file itself are built without it, those in a file it includes with -r are not",
    )


def _auth_failure(stderr: str) -> InputError | None:
    """The index answered 401/403: uv then reports the package as missing, which it may not be.
    Input (exit 2), as a package that does not exist: the credentials are the user's to fix."""
    m = _AUTH_HINT.search(stderr)
    if m is None:
        return None
    url, status = hide_credentials(m.group("url")), m.group("status")
    why = "rejected the credentials (or got none)" if status.startswith("401") else "refused access"
    return InputError(
        f"authentication failed for the package index at {url}: it {why} ({status})",
        "check the token in the index URL (https://user:TOKEN@host/...), the UV_INDEX_* variables "
        "(UV_INDEX_<NAME>_USERNAME / _PASSWORD) or ~/.netrc, and that it may read this index; nothing was written",
    )
