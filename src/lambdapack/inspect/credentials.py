"""Secrets in a package, recognised by file name and by content.

One detector for the LP402 rule, which `build` (on staged files) and `check` (on any
artifact) both run. Content is read bounded (the first SCAN_BYTES of a text-like file);
binaries are skipped by suffix or by a NUL byte, so a 5,000-file layer costs little.

AWS's documented example keys (AKIAIOSFODNN7EXAMPLE, wJalrXUtnFEMI/K7MDENG/...EXAMPLEKEY)
and obvious placeholders (xxxx, <your-token>, ${VAR}, changeme) are not secrets: SDKs
and their docs are full of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["SCAN_BYTES", "SecretHit", "find_secrets", "is_private_key", "mask", "secret_name", "worth_scanning"]

SCAN_BYTES = 64 * 1024  # credentials files are small; a key past this point is in a data file

# Files that are secrets by name alone (private key files are checked for a key first).
_SECRET_NAMES = re.compile(
    r"(^|/)(\.env(\.[\w-]+)?|\.aws/credentials|\.aws/config|\.pypirc|\.npmrc|\.netrc|_netrc|\.git-credentials"
    r"|id_rsa|id_dsa|id_ecdsa|id_ed25519|[\w.-]+\.pem|[\w.-]+\.key|[\w.-]+\.p12|[\w.-]+\.pfx)$"
)
_ENV_EXAMPLES = (".env.example", ".env.sample", ".env.template", ".env.dist", ".env.defaults")
# A PEM private key: the BEGIN line and a body of base64 (not a docstring that names the marker).
_PRIVATE_KEY = re.compile(
    rb"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----\r?\n(?:[\w-]+: [^\n]*\n)*\r?\n?[A-Za-z0-9+/=\r\n]{40}"
)
_PRIVATE_KEY_MARKER = b"PRIVATE KEY-----"

# Never read: compiled code, archives, media, numeric data.
_BINARY_SUFFIXES = frozenset((
    ".so", ".pyd", ".dll", ".dylib", ".a", ".o", ".lib", ".exe", ".pyc", ".pyo", ".whl", ".zip", ".gz",
    ".bz2", ".xz", ".zst", ".tar", ".tgz", ".7z", ".jar", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".bmp",
    ".webp", ".tif", ".tiff", ".svgz", ".pdf", ".ttf", ".otf", ".woff", ".woff2", ".eot", ".npy", ".npz",
    ".pkl", ".pickle", ".parquet", ".feather", ".h5", ".hdf5", ".bin", ".dat", ".db", ".sqlite", ".mo",
    ".wasm", ".onnx", ".pt",
))
# KEY=VALUE files: where a *_TOKEN=... line is configuration, not code.
_ENV_LIKE = re.compile(r"(^|/)(\.env(\.[\w-]+)?|[\w.-]+\.env|\.envrc|env|[\w.-]+\.(ini|cfg|conf|properties))$")


@dataclass(frozen=True)
class SecretHit:
    kind: str  # what it is, e.g. "AWS access key id"
    line: int  # 1-based
    masked: str  # the value with its middle hidden, never the secret itself


def mask(value: str) -> str:
    """`AKIA…MPLE`: enough to find the value, too little to use it."""
    return f"{value[:4]}…{value[-4:]}" if len(value) >= 16 else "…"


def secret_name(path: str) -> bool:
    """A file that is a secret by its name (`.env`, `.aws/credentials`, `id_rsa`, `*.key`...).

    `.pem` files count only with a private key in them (CA bundles are public), which
    the caller checks with `is_private_key`; `.env.example` and friends are templates.
    """
    base = path.rsplit("/", 1)[-1]
    return base not in _ENV_EXAMPLES and _SECRET_NAMES.search(path) is not None


def is_private_key(data: bytes) -> bool:
    return _PRIVATE_KEY.search(data) is not None


def worth_scanning(path: str, size: int) -> bool:
    """Text-like files only (a quick test on the name; the content test is in find_secrets)."""
    if size < 16:
        return False
    base = path.rsplit("/", 1)[-1].lower()
    if ".so." in base:
        return False  # libfoo.so.1
    dot = base.rfind(".")
    return dot <= 0 or base[dot:] not in _BINARY_SUFFIXES


_PLACEHOLDER_WORDS = re.compile(
    rb"example|sample|placeholder|dummy|changeme|change_me|your|xxxx|\*\*\*|\.\.\.|<|>|\$\{|\$\(|\{\{|%\(|todo|fixme"
    rb"|redacted|secret|password|token|test|fake|none|null|undefined",
    re.IGNORECASE,
)


def _placeholder(value: bytes) -> bool:
    """Documented examples and template values, which are not secrets."""
    v = value.strip().strip(b"'\"")
    if len(v) < 6 or v.startswith(b"$") or _PLACEHOLDER_WORDS.search(v):
        return True
    return len(set(v)) < 5  # 0000000000, abababab


_TOKEN_PLACEHOLDER = re.compile(rb"example|xxxx|placeholder|\*\*\*|\.\.\.", re.IGNORECASE)


def _placeholder_token(value: bytes) -> bool:
    """For values of a fixed random format: AWS's documented examples (all end in EXAMPLE
    or EXAMPLEKEY) and filler. Words are not tested: random text contains them by chance."""
    return _TOKEN_PLACEHOLDER.search(value) is not None or len(set(value)) < 5


def _random_looking(value: bytes) -> bool:
    """A generated key mixes cases and digits; a word or an identifier does not."""
    return (re.search(rb"[A-Z]", value) is not None and re.search(rb"[a-z]", value) is not None
            and re.search(rb"[0-9+/]", value) is not None)


# Each pattern is looked for from where its fixed start is: a prefix-only regex (found
# by `re`'s literal-prefix search, memchr-fast), then the whole pattern matched there.
# Letting `re` scan with the whole pattern (a lookbehind first) is ~30x slower; one
# start for both GitHub forms and one for both AWS prefixes halve the passes over a
# 5,000-file layer against a bytes.find per literal.
_Scan = tuple[re.Pattern[bytes], re.Pattern[bytes]]  # (start, whole pattern)
_AWS_KEY_ID: _Scan = (re.compile(rb"A[KS]IA"), re.compile(rb"(?<![A-Z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])"))
_TOKENS: tuple[tuple[str, re.Pattern[bytes], re.Pattern[bytes]], ...] = (
    ("GitHub token", re.compile(rb"gh[pousr]_|github_pat_"),  # ghp_/gho_/ghu_/ghs_/ghr_ and github_pat_: one pass
     re.compile(rb"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])")),
    ("PyPI token", re.compile(rb"pypi-AgE"), re.compile(rb"(?<![A-Za-z0-9_-])(pypi-AgE[A-Za-z0-9_-]{60,})")),
)
# Found from "secret" in the lowered text: the name starts at most 4 bytes before it (aws_).
_AWS_SECRET = re.compile(
    rb"(?i:aws_?secret_?access_?key|secret_?access_?key|aws_?secret_?key)[\"']?\s*(?:=|:|=>)\s*[\"']?"
    rb"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)


def _matches(data: bytes, start: re.Pattern[bytes], pat: re.Pattern[bytes]) -> Iterator[re.Match[bytes]]:
    for at in start.finditer(data):
        m = pat.match(data, at.start())  # a lookbehind still sees the bytes before it
        if m:
            yield m


_NETRC = re.compile(rb"(?m)^[ \t]*machine[ \t]+\S+(?:\s+(?:login|account)[ \t]+\S+)*\s+password[ \t]+(\S+)")
_PYPIRC_SECTION = re.compile(rb"(?m)^[ \t]*\[(?:pypi|testpypi|distutils|[\w-]*pypi[\w-]*)\][ \t]*$")
_INI_PASSWORD = re.compile(rb"(?m)^[ \t]*password[ \t]*[=:][ \t]*(\S+)")
_ENV_SECRET = re.compile(
    rb"(?m)^[ \t]*(?:export[ \t]+)?((?:[A-Za-z0-9_]*_)?(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|"
    rb"SECRET_?KEY|PRIVATE_?KEY|CREDENTIALS?))[ \t]*[=:][ \t]*([^\r\n#]*)",
    re.IGNORECASE,
)


def find_secrets(path: str, data: bytes) -> list[SecretHit]:
    """Secrets in the first bytes of one file; `data` is at most SCAN_BYTES of it.

    A NUL byte in the first 8 KiB means binary (nothing is reported); every pattern is
    looked for from its fixed start first, so a file without any costs a few fast scans.
    """
    if b"\0" in data[:8192]:
        return []
    hits: list[tuple[float, str, bytes]] = []  # (offset, kind, value)
    hits += [(m.start(1), "AWS access key id", m.group(1)) for m in _matches(data, *_AWS_KEY_ID)
             if not _placeholder_token(m.group(1)[4:])]
    lowered = data.lower()
    i = lowered.find(b"secret")
    while i != -1:
        m = _AWS_SECRET.search(data, max(0, i - 4), i + 120)
        if m and m.start() <= i and _random_looking(m.group(1)) and not _placeholder_token(m.group(1)):
            hits.append((m.start(1), "AWS secret access key", m.group(1)))
        i = lowered.find(b"secret", i + 1)
    if _PRIVATE_KEY_MARKER in data:
        hits += [(m.start(), "private key", b"") for m in _PRIVATE_KEY.finditer(data)]
    for kind, start, pat in _TOKENS:
        hits += [(m.start(1), kind, m.group(1)) for m in _matches(data, start, pat)
                 if not _placeholder_token(m.group(1))]
    if b"password" in lowered:
        if b"machine" in data:
            hits += [(m.start(1), ".netrc password", m.group(1)) for m in _NETRC.finditer(data)
                     if not _placeholder(m.group(1))]
        if _PYPIRC_SECTION.search(data):
            hits += [(m.start(1), ".pypirc password", m.group(1)) for m in _INI_PASSWORD.finditer(data)
                     if not _placeholder(m.group(1))]
    if _ENV_LIKE.search(path):
        for m in _ENV_SECRET.finditer(data):
            value = m.group(2).strip()
            if value and not _placeholder(value):
                # After any specific kind at the same place: "GitHub token" says more than "X value".
                hits.append((m.start(2) + 0.5, f"{m.group(1).decode('ascii', 'replace')} value", value))
    seen: set[int] = set()  # one finding per line: a value can match two patterns
    out: list[SecretHit] = []
    for offset, kind, value in sorted(hits):
        line = data.count(b"\n", 0, int(offset)) + 1
        if line in seen:
            continue
        seen.add(line)
        out.append(SecretHit(kind, line, mask(value.decode("ascii", "replace").strip("'\""))))
    return out
