"""Lambda-level rules over the merged view of a function and its layers.

Together with the binary rules in `checks`, these are the one rule engine that both
`lambdapack build` (on its staged files) and `lambdapack check` (on any artifact) run.
"""

from __future__ import annotations

import ast
import re
import stat
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from lambdapack import units
from lambdapack.facts import sdk
from lambdapack.facts.layout import (
    FUNCTION_ROOT,
    VERSIONED_DIR_RE,
    LambdaFile,
    LambdaView,
    module_name,
    parse_handler,
    shown_in,
)
from lambdapack.inspect import checks, credentials
from lambdapack.inspect.checks import Member
from lambdapack.inspect.elf.model import ELFInfo, ELFInvalid  # already loaded by checks: costs nothing
from lambdapack.inspect.filefacts import FileFacts
from lambdapack.inspect.findings import ERROR, INFO, WARNING, Finding
from lambdapack.target.tags import Target

__all__ = ["run_view_rules"]


def _dir_shown(path: str, origin: str) -> str:
    """A directory's name inside its artifact, as files are shown."""
    root = FUNCTION_ROOT if origin == "function" else "/opt"
    rel = path[len(root):].lstrip("/") if path.startswith(root) else path
    return shown_in(origin, rel)


def _shown(f: LambdaFile) -> str:
    """How a file is named in findings: its name in the artifact, with the layer."""
    return shown_in(f.origin, f.rel)


def binary_and_needed(
    view: LambdaView, target: Target, parsed_elf: Mapping[str, ELFInfo | ELFInvalid] | None = None
) -> list[Finding]:
    """LP001-LP006 plus LP007 (unresolvable DT_NEEDED) on every file of the view.

    Each file is classified from its first 64 bytes; each ELF file is parsed once,
    from the shortest prefix that holds its dynamic section (never the whole library),
    unless `parsed_elf` (by Lambda path) has it parsed already.
    """
    from lambdapack.inspect.binarykind import BinaryKind, classify
    from lambdapack.inspect.elf.reader import read_elf_prefix

    files = list(view.files.values())
    parsed: dict[str, ELFInfo | ELFInvalid] = dict(parsed_elf or {})

    def elf(f: LambdaFile) -> ELFInfo:
        got = parsed.get(f.path)
        if got is None:
            try:
                got = read_elf_prefix(f.head, f.size)
            except ELFInvalid as e:
                got = e
            parsed[f.path] = got
        if isinstance(got, ELFInvalid):
            raise got
        return got

    heads: dict[str, bytes] = {}

    def head(f: LambdaFile) -> Callable[[int], bytes]:
        def read(n: int) -> bytes:
            if n <= 64:
                if f.path not in heads:
                    heads[f.path] = f.head(64)
                return heads[f.path][:n]
            return f.head(n)

        return read

    members = [
        Member(_shown(f), f.distribution, f.size, head(f), (lambda f=f: elf(f)))  # type: ignore[misc]
        for f in files
    ]
    findings = checks.check_binaries(members, target)
    bad_paths = {fi.path for fi in findings if fi.code in ("LP001", "LP002", "LP006", "LP008")}
    linked: dict[str, ELFInfo] = {}
    shown: dict[str, tuple[str, str | None]] = {}
    for f, m in zip(files, members, strict=True):
        if m.arcname in bad_paths or f.size < 64 or classify(m.read_head(64)) is not BinaryKind.ELF:
            continue
        try:
            info = elf(f)
        except ELFInvalid:
            continue
        linked[f.path] = info
        shown[f.path] = (m.arcname, f.distribution)
    return findings + _unloadable(view, linked, shown, target)


def _unloadable(
    view: LambdaView, elfs: dict[str, ELFInfo], shown: dict[str, tuple[str, str | None]], target: Target
) -> list[Finding]:
    """LP007 as ld.so loads them: each extension module with what it pulls in, then the rest."""
    from lambdapack.facts.optional import optional_library
    from lambdapack.facts.systemlibs import LinkedFile
    from lambdapack.inspect.loading import extension_roots, unresolved_needed

    linked = {p: LinkedFile(p, i.needed, i.rpath, i.runpath, i.soname) for p, i in elfs.items()}
    roots = extension_roots(linked, view.sys_path)
    findings: list[Finding] = []
    where = f"not in the package and not part of {target.runtime.os}"
    for path, missing in unresolved_needed(linked, roots, set(view.files), target.runtime.os).items():
        arcname, distribution = shown[path]
        for u in missing:
            ship = f"ship {u.library} in a layer's lib/ (/opt/lib) or the function's lib/ (/var/task/lib)"
            opt = optional_library(path, view.sys_path, distribution, u.library)
            if opt is not None:  # the package imports it only on request and falls back (facts/optional)
                findings.append(Finding("LP007", WARNING, arcname, distribution,
                                        f"{opt.what} cannot load ({u.library} is {where}); {opt.without}",
                                        f"nothing to do unless you need it; to use it, {ship} ({opt.source})"))
                continue
            findings.append(
                Finding("LP007", ERROR, arcname, distribution, f"needs {u.library}, which is {where}",
                        f"use a wheel that bundles {u.library} (auditwheel-repaired), or {ship}")
            )
    return findings


def layer_layout(view: LambdaView, layers: Sequence[tuple[str, list[str]]], target: Target) -> list[Finding]:
    """LP201/LP202 for each layer given as (origin, names inside its zip)."""
    out: list[Finding] = []
    v = target.runtime.version
    for origin, names in layers:
        tops = {n.split("/", 1)[0] for n in names}
        if "python" not in tops:
            pyish = sorted(t for t in tops if t.endswith((".py", ".dist-info")) or
                           any(n.startswith(t + "/") and n.endswith("/__init__.py") for n in names))
            if pyish:
                out.append(
                    Finding("LP201", ERROR, shown_in(origin, pyish[0]), None,
                            f"{units.count(len(pyish), 'Python package')} at the layer zip root ({', '.join(pyish[:5])}"
                            f"{'…' if len(pyish) > 5 else ''}); Lambda only imports from /opt/python",
                            "put them under python/ in the zip: lambdapack build --layer does this")
                )
        for n in names:
            m = VERSIONED_DIR_RE.match(n)
            if m and m.group(1) != v:
                out.append(
                    Finding("LP202", ERROR, shown_in(origin, f"python/lib/python{m.group(1)}/"), None,
                            f"packages under python/lib/python{m.group(1)}/ are invisible to {target.runtime.name}, "
                            f"which reads python/lib/python{v}/site-packages",
                            f"rebuild the layer for {target.runtime.name}, or use the version-independent python/ folder")
                )
                break
    return out


def handler_rule(view: LambdaView, handler: str) -> list[Finding]:
    """LP203/LP204: the handler module exists on the path and defines the function."""
    parsed = parse_handler(handler)
    if parsed is None:
        return [Finding("LP203", ERROR, handler, None,
                        f"handler {handler!r} is not of the form module.function",
                        "set the handler to e.g. lambda_function.lambda_handler")]
    module, func = parsed.module, parsed.function
    found = view.find_module(parsed.dotted)
    if found is None:
        roots = sorted(view.top_level(FUNCTION_ROOT))[:8]
        return [Finding("LP203", ERROR, module.replace(".", "/") + ".py", None,
                        f"handler module {module!r} is not on Lambda's path "
                        f"(/var/task holds: {', '.join(roots) or 'nothing'})",
                        "put the handler file at the zip root (not in a subfolder), or fix the handler setting")]
    _entry, f = found
    if not f.path.endswith(".py"):
        return []  # an extension module: cannot read its definitions from source
    source = f.read()
    if not source and f.size:
        return []  # the member could not be read (reported as LP307 with the archive problems)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as e:
        return [Finding("LP204", ERROR, _shown(f), None,
                        f"handler module does not parse: {e.__class__.__name__}: {e}",
                        "fix the syntax (and check it for the runtime's Python version)")]
    if func in _defined_names(tree):
        return []
    return [Finding("LP204", ERROR, _shown(f), None,
                    f"function {func!r} is not defined in {module} (Runtime.HandlerNotFound)",
                    "define it, or fix the function part of the handler setting")]


def _defined_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.If | ast.Try):
            # Handlers defined conditionally still count (both branches).
            sub = ast.Module(body=[n for n in ast.walk(node) if isinstance(n, ast.stmt) and n is not node],
                             type_ignores=[])
            names |= _defined_names(sub)
    return names


# What a name in one sys.path directory (or namespace portion) is, in the order FileFinder
# prefers them: a folder with __init__ beats a module file, which beats a namespace folder.
_PACKAGE, _MODULE, _NAMESPACE = 0, 1, 2
_KIND_WORDS = {_PACKAGE: "package", _MODULE: "module", _NAMESPACE: "namespace folder"}


def _importables(view: LambdaView, directory: str) -> dict[str, tuple[int, list[LambdaFile]]]:
    """Names `import` finds directly in `directory` -> (kind, their files).

    Not modules: `__pycache__` and other dunder names, anything not an identifier
    (`*.dist-info`, `*.libs`, dot-folders), files that are neither `.py` nor an extension
    module (`lib*.so` is a shared library: the loader's, not `import`'s).
    """
    prefix = directory.rstrip("/") + "/"
    out: dict[str, tuple[int, list[LambdaFile]]] = {}
    for path, f in view.files.items():
        if not path.startswith(prefix):
            continue
        first, _, tail = path[len(prefix):].partition("/")
        if tail:
            name: str | None = first if first.isidentifier() else None
            kind = _PACKAGE if "/" not in tail and module_name(tail) == "__init__" else _NAMESPACE
        else:
            name = module_name(first) if first.endswith(".py") or checks.is_extension_module_name(first) else None
            kind = _MODULE
        if name is None or (name.startswith("__") and name.endswith("__")):
            continue
        old_kind, files = out.get(name, (kind, []))
        files.append(f)
        out[name] = (min(kind, old_kind), files)
    return out


def _clashes(
    view: LambdaView, fn_dir: str, layer_dir: str, dotted: str = ""
) -> list[tuple[str, int, int, list[LambdaFile]]]:
    """(module, the function's kind, the layer's kind, the layer's files) for each name both
    define. Two namespace folders are not a clash: Python merges them, so what is inside
    them is compared instead."""
    fn, layer = _importables(view, fn_dir), _importables(view, layer_dir)
    out: list[tuple[str, int, int, list[LambdaFile]]] = []
    for name in sorted(fn.keys() & layer.keys()):
        (fk, _), (lk, files) = fn[name], layer[name]
        if fk == lk == _NAMESPACE:
            out += _clashes(view, f"{fn_dir}/{name}", f"{layer_dir}/{name}", f"{dotted}{name}.")
        else:
            out.append((dotted + name, fk, lk, files))
    return out


def _shadowed(name: str, fk: int, lk: int, files: list[LambdaFile], d: str) -> Finding:
    """LP205: who wins a clash. A package or module beats namespace portions wherever they
    are on sys.path; between two real ones, the first on sys.path (/var/task) wins."""
    origin, dist = files[0].origin, files[0].distribution
    if fk != _NAMESPACE:
        return Finding("LP205", WARNING, name, dist,
                       f"{name} is in the function and in {origin} ({d}); the function's copy wins "
                       "because /var/task comes first on sys.path, so the layer's is dead weight or a version clash",
                       "keep one copy: drop it from the function (or from the layer)")
    folder = name.replace(".", "/")
    return Finding("LP205", WARNING, name, dist,
                   f"{name} is a namespace folder in the function and a {_KIND_WORDS[lk]} in {origin} ({d}); "
                   f"the layer's wins (a {_KIND_WORDS[lk]} beats namespace folders anywhere on sys.path), "
                   f"so the function's {folder}/ is never imported",
                   f"keep one copy: drop {folder}/ from the function, or give it an __init__.py if it must win")


def shadowing(view: LambdaView) -> list[Finding]:
    """LP205 (function vs layer), LP206 (bundled SDK), LP207 (layer overwrites)."""
    out: list[Finding] = []
    for d in view.sys_path[1:]:
        out += [_shadowed(*clash, d) for clash in _clashes(view, FUNCTION_ROOT, d)]
    seen_sdk = set()
    for d in view.sys_path:
        for name, files in view.top_level(d).items():
            if name in sdk.SDK_MODULES and name not in seen_sdk:
                seen_sdk.add(name)
                size = sum(f.size for f in files)
                out.append(
                    Finding("LP206", INFO, shown_in(files[0].origin, name),
                            files[0].distribution,
                            f"{name} is bundled ({units.human(size)}); it takes precedence over the runtime's copy, "
                            "which AWS updates with the runtime",
                            "keep it to pin the SDK version (AWS's advice), or drop it to save space "
                            "(lambdapack build --exclude-runtime-provided, later)")
                )
    for old, new in view.overwritten:
        out.append(
            Finding("LP207", WARNING, _shown(new), new.distribution,
                    f"{new.origin} overwrites {old.path} from {old.origin}",
                    "make sure the layer order is intended; the last layer listed wins")
        )
    return out


def permissions(view: LambdaView) -> list[Finding]:
    """LP401: Lambda runs as a non-owner user; files need o+r, directories o+x."""
    out: list[Finding] = []
    for f in view.files.values():
        if f.mode is not None and not f.mode & stat.S_IROTH:
            out.append(
                Finding("LP401", ERROR, _shown(f), f.distribution,
                        f"mode {f.mode & 0o777:04o} is not world-readable; Lambda cannot read it (Permission denied)",
                        "rebuild the zip with files 0644 / 0755 (lambdapack build does), or chmod -R o+rX before zipping")
            )
    for path, (origin, mode) in view.dirs.items():
        if mode is not None and not (mode & stat.S_IXOTH and mode & stat.S_IROTH):
            out.append(
                Finding("LP401", ERROR, _dir_shown(path, origin), None,
                        f"directory mode {mode & 0o777:04o} in {origin} lacks o+rx; Lambda cannot enter it",
                        "rebuild the zip with directories 0755, or chmod -R o+rX before zipping")
            )
    return out


def secrets(view: LambdaView, known: Mapping[str, list[credentials.SecretHit]] | None = None) -> list[Finding]:
    """LP402: credentials and keys in the package, by name and by content; `.git/` history.

    Content found in a distribution's file (its RECORD lists it) is a warning: the wheel is
    public already, so the value is an example or not the user's; in the user's code it is
    an error. Files are read bounded (credentials.SCAN_BYTES), binaries not at all; a file
    whose hits are `known` (by Lambda path) is not read unless its name says secret.
    """
    known = known or {}
    out: list[Finding] = []
    git_roots: set[str] = set()
    for f in view.files.values():
        m = re.search(r"(^|/)\.git/", f.rel)
        if m:
            root = f.rel[: m.end()]
            if root not in git_roots:
                git_roots.add(root)
                out.append(Finding("LP402", WARNING, root, None,
                                   "a .git/ directory ships the repository history (and any secret ever committed)",
                                   "exclude .git (lambdapack build never copies it)"))
            continue
        base = f.rel.rsplit("/", 1)[-1]
        by_name = credentials.secret_name(f.rel)
        scan = credentials.worth_scanning(f.rel, f.size)
        hits = known.get(f.path) if scan else []
        data = f.head(min(f.size, credentials.SCAN_BYTES)) if by_name or hits is None else b""
        if by_name and base.endswith(".pem") and not credentials.is_private_key(data):
            by_name = False  # certificates (CA bundles such as certifi's) are public
        if hits is None:
            hits = credentials.find_secrets(f.rel, data)
        where = ""
        if hits:
            h = hits[0]
            more = f", and {len(hits) - 1} more" if len(hits) > 1 else ""
            where = f"{h.kind} at line {h.line}" + (f" ({h.masked})" if h.masked != "…" else "") + more
        if by_name:
            # A package shipping a private key is still a finding.
            out.append(Finding("LP402", ERROR, _shown(f), f.distribution,
                               f"{base} looks like a secret (credentials, environment or private key)"
                               + (f", with a {where}," if where else "")
                               + " and would be readable by anyone with access to the function code",
                               "remove it from the package (lambdapack build --exclude NAME); use environment "
                               "variables, Secrets Manager or SSM"))
        elif hits and f.distribution:
            out.append(Finding("LP402", WARNING, _shown(f), f.distribution,
                               f"{where} in a file of a published package: most likely a documented example",
                               "if it is a real secret, leave the file out (--exclude) and tell the package's authors"))
        elif hits:
            out.append(Finding("LP402", ERROR, _shown(f), None,
                               f"{where}: a secret in the code is readable by anyone with access to the function",
                               "remove it (use environment variables, Secrets Manager or SSM), or, if it is not "
                               "a secret, pass --allow-secret with this path"))
    return out


_PYC_RE = re.compile(r"(^|/)__pycache__/[^/]+\.(cpython-(\d)(\d+)|pypy\d+)[^/]*\.pyc$")


def bytecode(view: LambdaView, target: Target) -> list[Finding]:
    """LP403 foreign-version __pycache__ and LP404 timestamp .pyc, one finding per package."""
    foreign: dict[tuple[str, str | None], tuple[int, int, str]] = defaultdict(lambda: (0, 0, ""))
    stamped: dict[tuple[str, str | None], tuple[int, int]] = defaultdict(lambda: (0, 0))
    want = f"cpython-{target.runtime.python[0]}{target.runtime.python[1]}"
    for f in view.files.values():
        m = _PYC_RE.search(f.rel)
        if not m:
            continue
        top = _shown(f).split("__pycache__")[0].rstrip("/").split("/")
        where = "/".join(top[:2]) if top[0].startswith("layer") else top[0]
        key = (where or "__pycache__", f.distribution)  # a top-level module's cache dir
        if m.group(2) != want:
            n, b, tag = foreign[key]
            foreign[key] = (n + 1, b + f.size, m.group(2))
            continue
        head = f.head(16)
        if len(head) >= 8 and int.from_bytes(head[4:8], "little") == 0:
            n, b = stamped[key]
            stamped[key] = (n + 1, b + f.size)
    out: list[Finding] = []
    for (where, dist), (n, b, tag) in sorted(foreign.items(), key=lambda kv: kv[0][0]):
        out.append(Finding("LP403", WARNING, where, dist,
                           f"{units.count(n, '.pyc file')} compiled for {tag} ({units.human(b)}); {target.runtime.name} never reads them",
                           "build on/for the runtime's Python (lambdapack build ships no foreign bytecode)"))
    for (where, dist), (n, b) in sorted(stamped.items(), key=lambda kv: kv[0][0]):
        out.append(Finding("LP404", WARNING, where, dist,
                           f"{units.count(n, 'timestamp-based .pyc file')} ({units.human(b)}): their recorded source mtime will not "
                           "match after extraction, so Python recompiles on every cold start",
                           "ship hash-based .pyc (compileall --invalidation-mode unchecked-hash) or none"))
    return out


def run_view_rules(
    view: LambdaView,
    target: Target,
    *,
    layers: Sequence[tuple[str, list[str]]] = (),
    handler: str | None = None,
    known: FileFacts | None = None,
) -> list[Finding]:
    """Every rule that needs only the view (sizes are checked by the caller); `known`: what
    is known already of the files' content, by Lambda path (see `add_artifact`)."""
    known = known or FileFacts()
    findings = binary_and_needed(view, target, known.elf)
    findings += layer_layout(view, layers, target)
    if handler:
        findings += handler_rule(view, handler)
    findings += shadowing(view)
    findings += permissions(view)
    findings += secrets(view, known.secrets)
    findings += bytecode(view, target)
    return findings
