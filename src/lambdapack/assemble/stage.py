"""Staging: decide which file goes where in the zip, without copying anything.

The result is a manifest (arcname -> file on disk, mode, owning distribution). The
function layout puts code and dependencies at the zip root; the layer layout puts
dependencies under `python/`, the first of Lambda's Python folders in /opt.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lambdapack.assemble.ignore import PACKAGING_REASON, IgnoreRules, LeftOut, kept, packaging_rule
from lambdapack.assemble.ignorefiles import folder_ignore_files, starting_rules
from lambdapack.assemble.patterns import PathPattern
from lambdapack.errors import InputError
from lambdapack.resolve.distributions import Distribution, read_distributions
from lambdapack.staged import StagedFile

__all__ = [
    "SOURCE_EXCLUDES",
    "SourceOptions",
    "dependency_entries",
    "is_installer_leftover",
    "source_entries",
]

# Directories and files never copied from the user's source tree. The tests folder
# is kept unless the user asks (--exclude-tests): some handlers import from it.
SOURCE_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".DS_Store",
    ".aws-sam",
    ".serverless",
    ".idea",
    ".vscode",
    "node_modules",
    ".lambdapack-*",
    "*.partial",
)
TEST_DIRS: tuple[str, ...] = ("tests", "test")


def _executable(st: os.stat_result) -> bool:
    return bool(st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))


def _name_excluded(rel: str, patterns: Sequence[PathPattern]) -> bool:
    """Whether an entry is left out. The walk prunes excluded directories, so a pattern
    without "/" needs only the last part."""
    return any(p.matches(rel, last_only=True) for p in patterns)


def _inside(path: str, root: str) -> bool:
    """`path` is `root` or below it (both real paths; case-insensitive where the OS is)."""
    k, r = os.path.normcase(path), os.path.normcase(root)
    return k == r or k.startswith(r.rstrip(os.sep) + os.sep)


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _link_text(path: str) -> str:
    try:
        return str(Path(path).readlink())
    except OSError:
        return "?"  # a Windows junction, or gone meanwhile


def _shorten(path: str) -> str:
    return path if len(path) <= 240 else f"{path[:100]}…{path[-100:]} ({len(path)} characters)"


def _walk_error(e: OSError, path: str) -> InputError:
    if e.errno == errno.ENAMETOOLONG:
        return InputError(f"source path {_shorten(path)} is longer than this system allows",
                          "shorten the directory names or the nesting, or leave it out with --exclude")
    return InputError(f"cannot read {_shorten(path)} in the source tree: {e.strerror or e}",
                      "make it readable, or leave it out with --exclude")


@dataclass(frozen=True)
class _Dir:
    disk: str  # the path that is listed
    rel: str  # POSIX path inside SRC_DIR ("" for the root)
    real: str  # its real path
    # The walk's path as real-tree descents: (start, end) for each directory link followed
    # on the way here, and the start of the current one. A link back into any of them is a
    # cycle, found without resolving every entry.
    chain: tuple[tuple[str, str], ...]
    start: str
    external: str | None  # the target outside SRC_DIR that led here (--follow-external-links)
    rules: IgnoreRules  # the ignore files in force here (assemble/ignore.py)


@dataclass(frozen=True)
class SourceOptions:
    """How the user's source tree is walked: where its files go in the zip (`prefix`),
    what is left out (--exclude-tests, --exclude, outputs and caches in `skip_paths`; ignore
    files and packaging files unless `ignore_files` is off, `keeps` (--keep) shipping some
    anyway), and whether links out of SRC_DIR are followed (--follow-external-links)."""

    prefix: str = ""
    exclude_tests: bool = False
    extra_excludes: Sequence[str] = ()
    skip_paths: Iterable[Path] = ()
    follow_external_links: bool = False
    keeps: Sequence[str] = ()
    ignore_files: bool = True


def source_entries(
    src: Path, options: SourceOptions = SourceOptions(), *, notes: list[str] | None = None,
    left_out: list[LeftOut] | None = None,
) -> list[StagedFile]:
    """The user's code, minus VCS folders, caches, virtualenvs and our own outputs.

    A symlink is packed as its target's content, never as a zip symlink entry: Lambda's
    extraction, unzip tools and Python's zipfile each treat link entries differently (or
    drop them), a link entry's bytes depend on how the link was spelled (so CodeSha256
    would too), and Windows cannot create links without privileges. A link resolving
    outside SRC_DIR is an InputError (it may be ~/.aws/credentials) unless
    `follow_external_links`; then each file it brings gets a note. Dangling links, link
    cycles, FIFOs, sockets and devices are skipped with a note (special files are never
    opened: a FIFO blocks forever). Notes are appended to `notes`; what `.gitignore`,
    `.lambdapackignore` and the packaging rules left out, to `left_out` (assemble/ignore.py).

    The walk is iterative and resolves only symlinks, so it is linear in the tree's size.
    """
    walk = _SourceWalk(src, options, notes if notes is not None else [])
    out = walk.run()
    if left_out is not None:
        left_out.extend(walk.left_out)
    return out


class _SourceWalk:
    """One walk of a source tree: the entries found, the notes said, the links refused."""

    def __init__(self, src: Path, options: SourceOptions, notes: list[str]) -> None:
        self.src = src
        self.options = options
        self.compiled = [PathPattern(p) for p in (*SOURCE_EXCLUDES, *options.extra_excludes)]
        self.root_real = os.path.realpath(src)
        self.skip = {os.path.normcase(os.path.realpath(p)) for p in options.skip_paths}
        # Hand-vendored packages (a *.dist-info with RECORD in the tree) are still
        # attributed to their distribution, so findings name who shipped a bad file.
        self.owner = _owners(read_distributions(src))
        self.said = notes
        self.outside: list[tuple[str, str]] = []  # (link, target) leaving SRC_DIR
        self.out: list[StagedFile] = []
        self.keeps = [PathPattern(p) for p in options.keeps]
        self.left_out: list[LeftOut] = []

    def run(self) -> list[StagedFile]:
        rules = starting_rules(self.src) if self.options.ignore_files else IgnoreRules()
        stack = [_Dir(os.fspath(self.src), "", self.root_real, (), self.root_real, None, rules)]
        while stack:
            d = stack.pop()
            try:
                with os.scandir(d.disk) as it:
                    listing = sorted(it, key=lambda e: e.name)
            except OSError as err:
                raise _walk_error(err, d.disk) from None
            if d.rel and any(e.name == "pyvenv.cfg" for e in listing):
                continue  # a virtualenv, whatever its name
            if self.options.ignore_files:
                d = dataclasses.replace(d, rules=d.rules.adding(
                    folder_ignore_files(d.disk, d.rel, (e.name for e in listing), d.rules.offset)))
            subdirs: list[_Dir] = []
            for e in listing:
                sub = self._visit(d, e)
                if sub is not None:
                    subdirs.append(sub)
            stack.extend(reversed(subdirs))
        if self.outside:
            raise self._outside_error()
        return self.out

    def _visit(self, d: _Dir, e: os.DirEntry[str]) -> _Dir | None:
        """Take one listed entry: a file is added, a directory to walk is returned."""
        rel = f"{d.rel}/{e.name}" if d.rel else e.name
        if _name_excluded(rel, self.compiled) or self._ignored(d, e, rel):
            return None
        found = self._resolve(d, e, rel)
        if found is None:
            return None
        real, external, st, link = found
        if os.path.normcase(real) in self.skip:
            return None
        if stat.S_ISDIR(st.st_mode):
            if self.options.exclude_tests and not d.rel and e.name in TEST_DIRS:
                return None
            if not link:
                return _Dir(e.path, rel, real, d.chain, d.start, external, d.rules)
            spans = (*d.chain, (d.start, d.real))
            if any(_inside(end, real) and _inside(real, start) for start, end in spans):
                self.said.append(f"{rel}: skipped, a symlink to {real}, which contains it (a link cycle)")
                return None
            return _Dir(real, rel, real, spans, real, external, d.rules)
        if not stat.S_ISREG(st.st_mode):
            self.said.append(f"{rel}: skipped, {_special_kind(st.st_mode)}")
            return None
        if external is not None:
            self.said.append(f"{rel}: packed from {real}, outside the source directory (--follow-external-links)")
        dist = self.owner.get(os.path.normpath(rel))
        path = Path(real if link else e.path)
        self.out.append(StagedFile(self.options.prefix + rel, path, _executable(st), st.st_size, dist))
        return None

    def _ignored(self, d: _Dir, e: os.DirEntry[str], rel: str) -> bool:
        """Left out by an ignore file or a packaging rule (and recorded), unless --keep ships it.
        A symlink matches as a file, as in git; an output or cache already skipped is not recorded."""
        if not self.options.ignore_files or (self.keeps and kept(rel, self.keeps)):
            return False
        try:
            is_dir = e.is_dir(follow_symlinks=False)
        except OSError:
            return False  # _resolve reports it
        why = d.rules.decide(rel, is_dir) if d.rules.files else None
        if why is None and not is_dir:
            rule = packaging_rule(rel)
            why = LeftOut(rel, PACKAGING_REASON, "default", rule) if rule is not None else None
        if why is None:
            return False
        if not e.is_symlink() and os.path.normcase(os.path.join(d.real, e.name)) in self.skip:  # noqa: PTH118
            return True  # our own output (a zip beside the code): skipped as before, not "left out"
        self.left_out.append(why)
        return True

    def _resolve(
        self, d: _Dir, e: os.DirEntry[str], rel: str
    ) -> tuple[str, str | None, os.stat_result, bool] | None:
        """(real path, outside target it came through, stat, is a link), or None: skipped."""
        real, external = os.path.join(d.real, e.name), d.external  # noqa: PTH118 -- strings: linear
        try:
            link = e.is_symlink() or bool(getattr(e, "is_junction", lambda: False)())
            if not link:
                return real, external, e.stat(follow_symlinks=False), False
            real = os.path.realpath(e.path)
            try:
                st = os.stat(real)  # noqa: PTH116
            except OSError:
                self.said.append(f"{rel}: skipped, a symlink to {_link_text(e.path)} that does not resolve "
                                 "(dangling, or a link loop)")
                return None
            if os.path.normcase(real) in self.skip:
                return None  # e.g. a link to the output zip, wherever it is
            if _inside(real, self.root_real):
                external = None
            elif self.options.follow_external_links:
                external = real
            else:
                self.outside.append((rel, real))
                return None
            return real, external, st, True
        except FileNotFoundError:
            return None  # removed while we walk
        except OSError as err:
            raise _walk_error(err, e.path) from None

    def _outside_error(self) -> InputError:
        (first, target), more = self.outside[0], [f"{r} -> {t}" for r, t in self.outside[1:]]
        also = f" (and {len(more)} more: {', '.join(more[:5])}{'…' if len(more) > 5 else ''})" if more else ""
        return InputError(
            f"{first} in {self.src} is a symlink to {target}, outside the source directory{also}",
            "copy what it points to into the source directory, or pass --follow-external-links to pack "
            "it deliberately (a warning names each file)",
        )


def _owners(distributions: Sequence[Distribution]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for d in distributions:
        label = f"{d.display_name} {d.version}"
        for f in d.files:
            owner[os.path.normpath(f)] = label
        owner[d.dist_info] = label
    return owner


def is_installer_leftover(rel: PurePosixPath) -> bool:
    """Files an installer leaves in --target that must not reach Lambda."""
    return _leftover(rel.as_posix())


def _leftover(rel: str) -> bool:
    # is_installer_leftover on a POSIX relative path string: this runs for every installed file.
    parts = rel.split("/")
    if parts[0] in ("bin", ".lock"):
        return True  # console scripts with this machine's shebang; uv's lock file
    name = parts[-1]
    if "__pycache__" in parts or (len(name) > 4 and name.endswith((".pyc", ".pyo"))):
        return True  # compiled by/for the build machine's Python
    return False


def filtered_record(text: str) -> str:
    """RECORD without the lines of files we do not ship (bin/ scripts, caches).

    Console scripts carry this machine's interpreter path in their shebang, so their
    hashes in RECORD differ between machines; dropping them keeps the zip reproducible
    and RECORD truthful about what is in it.
    """
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text)):
        if row and _leftover(os.path.normpath(row[0]).replace(os.sep, "/")):
            continue
        writer.writerow(row)
    return out.getvalue()


def dependency_entries(
    site: Path, distributions: Sequence[Distribution], *, prefix: str = "", work: Path | None = None
) -> list[StagedFile]:
    """Installed files under `site`, each attributed to its distribution via RECORD.

    RECORD files are rewritten (into `work`, never in place: uv may hard-link from its cache).
    Plain strings, not Paths, until a file is kept: this runs for every installed file.
    """
    owner = _owners(distributions)
    out: list[StagedFile] = []
    root = os.fspath(site)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        for f in sorted(filenames):
            rel = rel_dir + f
            if _leftover(rel):
                continue
            full = os.path.join(dirpath, f)  # noqa: PTH118
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                st = os.stat(full)  # noqa: PTH116
            if not stat.S_ISREG(st.st_mode):
                continue
            dist = owner.get(os.path.normpath(rel))
            if dist is None:
                top = rel.split("/", 1)[0]
                dist = owner.get(top) or next(
                    (lbl for path, lbl in owner.items() if path.startswith(top + os.sep)), top
                )
            record = work is not None and f == "RECORD" and rel_dir.endswith(".dist-info/")
            out.append(_dependency_file(prefix + rel, Path(full), st, dist, work if record else None))
    return out


def _dependency_file(arcname: str, full: Path, st: os.stat_result, dist: str, record_to: Path | None) -> StagedFile:
    """One installed file staged; a distribution's RECORD (`record_to` given) rewritten there
    without our leftovers' lines."""
    if record_to is not None:
        original = full.read_text(encoding="utf-8", errors="surrogateescape")
        text = filtered_record(original)
        if text != original:
            full = record_to / "records" / full.parent.name / "RECORD"
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_text(text, encoding="utf-8", errors="surrogateescape")
            st = full.stat()
    return StagedFile(arcname, full, _executable(st), st.st_size, dist)
