"""Every rule code `check` and `build` report: its title and the severities it can have.

The one registry of rule codes: the rules (`checks`, `rules`, the archive reader) emit these
codes, SARIF output describes them from here, `smoke` groups the native-code ones, and
the README's rule table lists exactly these (tests/unit/test_facts.py compares them).
Codes are stable: a code's meaning never changes, retired codes are not reused.

Families, by the hundreds digit: LP0xx native binaries, LP1xx Lambda's size limits,
LP2xx Lambda's layout (layers, handler, shadowing), LP3xx the archive itself,
LP4xx hygiene (permissions, secrets, bytecode).
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdapack.inspect.findings import ERROR, INFO, WARNING, Severity

__all__ = ["RULES", "Rule", "family"]


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    severities: tuple[Severity, ...]  # what its findings can be; the first is the default

    @property
    def severity(self) -> Severity:
        return self.severities[0]


_E, _W, _I = (ERROR,), (WARNING,), (INFO,)
_EW = (ERROR, WARNING)

RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("LP001", "native binary for another operating system (Mach-O, PE/DLL)", _E),
        Rule("LP002", "ELF for another machine, class or byte order", _E),
        Rule("LP003", "needs a glibc newer than the runtime's", _E),
        Rule("LP004", "needs a libstdc++ (GLIBCXX / CXXABI) newer than the runtime's", _E),
        Rule("LP005", "extension module built for another Python, ABI or platform (a warning when the "
             "runtime's variant of the module is beside it: dead weight)", _EW),
        Rule("LP006", "file looks like ELF but cannot be parsed", _W),
        Rule("LP007", "DT_NEEDED library neither bundled nor part of the runtime's Amazon Linux (a warning "
             "for a module the package loads only on request and does without: facts/optional)", _EW),
        Rule("LP008", "empty, truncated or non-ELF shared object (an extension module or a library "
             "something loads)", _EW),
        Rule("LP101", "unzipped size over Lambda's 250 MiB limit (function + layers)", _E),
        Rule("LP102", "zip over 50 MB: direct upload refused, upload through S3", _W),
        Rule("LP103", "more than 5 layers", _E),
        Rule("LP104", "bytecode left out to fit the size limit (those modules compile at each cold start)", _W),
        Rule("LP201", "layer layout: packages at the zip root instead of python/", _E),
        Rule("LP202", "layer layout: python/lib/pythonX.Y/ for another Python version", _E),
        Rule("LP203", "handler module not found on the Lambda path", _E),
        Rule("LP204", "handler function not defined in its module", _E),
        Rule("LP205", "the same top-level module in the function and a layer", _W),
        Rule("LP206", "boto3/botocore bundled (the runtime provides them)", _I),
        Rule("LP207", "a layer file overwrites another layer's file", _W),
        Rule("LP208", "the function looks like a layer: its modules are all under python/, nothing is "
             "importable from /var/task", _W),
        Rule("LP301", "path traversal: an entry escapes the extraction root (../, or through a symlink)", _E),
        Rule("LP302", "absolute path, Windows backslash separators, or a name Linux cannot create", _E),
        Rule("LP303", "symbolic link entry (an error when its target escapes the root)", _EW),
        Rule("LP304", "zip bomb: declared or actual uncompressed size or ratio over the limits, "
             "or overlapping entries", _E),
        Rule("LP305", "duplicate entry names (which one wins depends on the unzip tool)", _E),
        Rule("LP306", "entry name whose bytes are not trustworthy UTF-8", _W),
        Rule("LP307", "member data corrupt (CRC mismatch, bad deflate stream, bad local header)", _E),
        Rule("LP308", "compression method other than stored/deflate: not checked, may not extract", _W),
        Rule("LP309", "special file (FIFO, socket, device) in a directory artifact: skipped", _W),
        Rule("LP401", "file or directory Lambda cannot read", _E),
        Rule("LP402", "secret or repository metadata that should never ship", _EW),
        Rule("LP403", "__pycache__ compiled for another Python version (dead weight)", _W),
        Rule("LP404", "timestamp-based .pyc that never validates on Lambda", _W),
    )
}


def family(code: str) -> str:
    """'LP0' for LP001..LP099 (native binaries), 'LP1' for sizes, and so on."""
    return code[:3]
