"""Turn Lambda error text into causes and fixes.

Output is one `Explanation` per distinct problem, in order of first appearance, each
ending in a `lambdapack check` command that confirms it and a `lambdapack build` command
(or change) that fixes it. Reading the text is `logtext`, guessing the runtime and
architecture is `target`, and the rules, grouped by kind of failure, are `importerrors`,
`binaries`, `usercode` and `deployment`; this module runs them over the lines.

Everything here is a pure function of the text: no files, no network.
"""

from __future__ import annotations

import re

from lambdapack.explain.binaries import (
    bad_binary,
    glibc_version,
    libstdcxx_version,
    missing_library,
    urllib3_openssl,
)
from lambdapack.explain.deployment import permission_denied, size_limit
from lambdapack.explain.hits import Rule
from lambdapack.explain.importerrors import (
    bare_import_error,
    cannot_import_name,
    generic_import_error,
    no_module,
    numpy_extensions,
)
from lambdapack.explain.logtext import logical_lines
from lambdapack.explain.model import Explanation
from lambdapack.explain.target import InferredTarget, infer_arch, infer_runtime
from lambdapack.explain.usercode import handler_setting, syntax_error

__all__ = ["explain"]

_IMPORT_MODULE_ERROR = re.compile(r"Runtime\.ImportModuleError")

# Order matters only within one line: specific rules first; the generic import error
# runs only when none of them matched that line.
# Each with the words (lower case) one of which every pattern of the rule contains: a rule
# runs only on lines that have one, so a long log costs a substring scan per line, not a
# dozen regex searches (4 MiB of random bytes: 4.6 s before).
_RULES: tuple[tuple[Rule, tuple[str, ...]], ...] = (
    (glibc_version, ("not found",)),
    (libstdcxx_version, ("not found",)),
    (bad_binary, ("invalid elf header", "mach-o", "pe32", "wrong elf class", "cannot execute binary file",
                  "exec format error", "elf load command", "file too short")),
    (missing_library, ("cannot open shared object file",)),
    (numpy_extensions, ("numpy c-extensions",)),
    (cannot_import_name, ("cannot import name",)),
    (no_module, ("no module named",)),
    (syntax_error, ("syntaxerror", "syntax error in module")),
    (handler_setting, ("missing on module", "malformedhandlername", "bad handler", "handlernotfound")),
    (size_limit, ("unzipped size must be smaller", "layers consume more", "function code combined",
                 "requestentitytoolarge", "request must be smaller")),
    (permission_denied, ("permission denied", "layer conversion failed", "eacces")),
    (urllib3_openssl, ("urllib3 v2",)),
)
_GENERIC_TRIGGER = "unable to import module"
_BARE_TRIGGER = "importmoduleerror"


def explain(text: str) -> list[Explanation]:
    """All distinct problems in `text`, in order of first appearance; [] if none recognised."""
    lines = logical_lines(text)
    joined = "\n".join(lines)
    # The raw text too: JSON platform records carry "runtimeVersion" in fields that are
    # not messages and so are not among `lines`.
    target = InferredTarget(infer_runtime(joined + "\n" + text), infer_arch(lines))
    seen: set[tuple[str, ...]] = set()
    out: list[Explanation] = []
    bare: str | None = None
    for line in lines:
        low = line.lower()
        hits = [h for rule, words in _RULES if any(w in low for w in words) for h in rule(line, target)]
        if not hits and _GENERIC_TRIGGER in low:
            hits = generic_import_error(line, target)
        if not hits and bare is None and _BARE_TRIGGER in low and _IMPORT_MODULE_ERROR.search(line):
            bare = line
        for h in hits:
            if h.key not in seen:
                seen.add(h.key)
                out.append(h.expl)
    # INIT_REPORT and platform records repeat the error type without the message; they
    # only matter when the message itself is not in the excerpt.
    if bare is not None and not out:
        out.append(bare_import_error(bare, target).expl)
    return out
