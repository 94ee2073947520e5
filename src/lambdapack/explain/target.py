"""The runtime and architecture a log names, for the commands an explanation suggests.

Inferred from the text when it names them (runtime paths, INIT_START lines, loader
messages) and otherwise left as placeholders the user fills in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lambdapack.facts.runtimes import RUNTIMES, Arch, get_arch

__all__ = ["ARCH_PLACEHOLDER", "RUNTIME_PLACEHOLDER", "InferredTarget", "infer_arch", "infer_runtime"]

RUNTIME_PLACEHOLDER = "<python3.N>"
ARCH_PLACEHOLDER = "<" + "|".join(a.value for a in Arch) + ">"


@dataclass(frozen=True)
class InferredTarget:
    """Lambda's runtime and architecture names, or placeholders where the text is silent."""

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
    # is checked in infer_runtime.
    re.compile(r"python(3\.\d+)\b"),
)
_WORD_CHAR = re.compile(r"\w")
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


def _arch_of(word: str) -> str:
    """Lambda's name for an architecture as logs spell it ("x86-64" is the kernel's)."""
    return get_arch(word.replace("-", "_")).value


def infer_runtime(text: str) -> str:
    for pattern in _RUNTIME_PATTERNS:
        for m in pattern.finditer(text):
            if pattern is _RUNTIME_PATTERNS[-1] and m.start() > 0 and _WORD_CHAR.match(text[m.start() - 1]):
                continue
            name = f"python{m.group(1)}"
            if name in RUNTIMES:
                return name
    return RUNTIME_PLACEHOLDER


def infer_arch(lines: list[str]) -> str:
    strong: set[str] = set()
    weak: set[str] = set()
    for line in lines:
        found = {_arch_of(m.group(1)) for m in _ARCH_MENTION.finditer(line)}
        if not found or _ARCH_IGNORE_LINE.search(line):
            continue
        if _ARCH_REFUSED_LINE.search(line):
            weak |= {b.value for a in found for b in Arch if b.value != a}
        elif _ARCH_STRONG_LINE.search(line):
            strong |= found
        else:
            weak |= found
    for evidence in (strong, weak):
        if len(evidence) == 1:
            return next(iter(evidence))
        if len(evidence) > 1:
            # Contradicting evidence: a placeholder is safer than a wrong guess.
            return ARCH_PLACEHOLDER
    return ARCH_PLACEHOLDER
