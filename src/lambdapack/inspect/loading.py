"""Which DT_NEEDED entries of a merged Lambda view would not load, as ld.so loads them.

Pure: it sees the ELF objects' dynamic sections (as ``LinkedFile``s) and the set of
file paths, never the file system. Each *root* is loaded as in a fresh process:

- roots are the extension modules (a CPython extension file name in a directory
  reached from ``sys.path`` through identifier names), then every other object that
  no root's load reached, loaded directly (``dlopen``/``ctypes``) unless an earlier
  such root reached it;
- from a root, DT_NEEDED is walked breadth-first, as ``_dl_map_object_deps`` does: a
  name already loaded (the name it was requested by, its path, its DT_SONAME) is
  reused, else it is searched with ``systemlibs.search_path``, the DT_RPATH chain
  being that of the objects that loaded it (the first to request it loads it).

An entry is reported only when it fails on every load that reaches its object:
a library found through the RPATH of the extension module that loads it (older
auditwheel's grafted ``*.libs/``) is found. Loads are not credited to each other:
a library that only resolves if another module happened to be imported first
is reported. Cost: the sum of the roots' closures, with each search memoised.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lambdapack.facts.layout import module_name
from lambdapack.facts.systemlibs import (
    SYSTEM,
    LinkedFile,
    Unresolved,
    expand_entry,
    find_library,
    inherited_rpath,
    needed_path,
    search_path,
    system_sonames,
)

__all__ = ["extension_roots", "unresolved_needed"]


def extension_roots(paths: Iterable[str], sys_path: Sequence[str]) -> list[str]:
    """The paths Python would import as extension modules: under a ``sys_path`` entry,
    through directories whose names are identifiers (packages), with an extension
    module file name (``x.cpython-3XY-...so``, ``x.abi3.so``, ``x.so``)."""
    roots: list[str] = []
    entries = tuple(e.rstrip("/") + "/" for e in sys_path)
    for path in paths:
        if not path.endswith(".so") or module_name(posixpath.basename(path)) is None:
            continue
        for entry in entries:
            if path.startswith(entry) and all(p.isidentifier() for p in path[len(entry):].split("/")[:-1]):
                roots.append(path)
                break
    return sorted(roots)


@dataclass
class _Verdicts:
    """Per (object path, DT_NEEDED name): found on some load, or the search of a failed one."""

    found: set[tuple[str, str]] = field(default_factory=set)
    failed: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)


class _Loader:
    """The loads of one view; searches are memoised across roots (same name and path, same answer)."""

    def __init__(self, objects: Mapping[str, LinkedFile], available: Collection[str], os_name: str) -> None:
        self.objects = objects
        self.available = available
        self.system = system_sonames(os_name)
        self.verdicts = _Verdicts()
        self._found: dict[tuple[str, tuple[str, ...]], str | None] = {}
        self._search: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    def search(self, obj: LinkedFile, chain: tuple[str, ...]) -> tuple[str, ...]:
        key = (obj.path, chain)
        got = self._search.get(key)
        if got is None:
            got = self._search[key] = search_path(obj, chain)
        return got

    def find(self, name: str, search: tuple[str, ...]) -> str | None:
        key = (name, search)
        if key not in self._found:
            self._found[key] = find_library(name, search, self.available, self.system)
        return self._found[key]

    def load(self, root: str) -> set[str]:
        """Load ``root`` as in a fresh process; the paths of the objects it loaded."""
        first = self.objects[root]
        names: dict[str, str] = {root: root}  # requested name / path / soname -> loaded path
        if first.soname:
            names[first.soname] = root
        chains: dict[str, tuple[str, ...]] = {root: inherited_rpath(first)}
        queue = deque([first])
        while queue:
            obj = queue.popleft()
            for name in dict.fromkeys(obj.needed):
                hit = names.get(name)
                if hit is None:
                    hit = self._lookup(obj, name, chains[obj.path])
                    if hit is None:
                        continue
                    names[name] = hit
                    if hit != SYSTEM and hit not in chains:  # a new object: load it and walk its needs
                        names[hit] = hit
                        chains[hit] = ()
                        new = self.objects.get(hit)
                        if new is not None:  # else not an ELF we model (another rule judges it)
                            chains[hit] = inherited_rpath(new, chains[obj.path])
                            if new.soname:
                                names.setdefault(new.soname, hit)
                            queue.append(new)
                self.verdicts.found.add((obj.path, name))
        return set(chains)

    def _lookup(self, obj: LinkedFile, name: str, chain: tuple[str, ...]) -> str | None:
        if "/" in name:
            hit = needed_path(name, obj, self.available, self.system)
            searched: tuple[str, ...] = (posixpath.dirname(expand_entry(name, obj.origin)),)
        else:
            searched = self.search(obj, chain)
            hit = self.find(name, searched)
        if hit is None:
            self.verdicts.failed.setdefault((obj.path, name), searched)
        return hit


def unresolved_needed(
    objects: Mapping[str, LinkedFile], roots: Sequence[str], available: Collection[str], os_name: str
) -> dict[str, list[Unresolved]]:
    """Per object path, the DT_NEEDED entries that fail on every load reaching it.

    ``objects`` are the view's ELF objects by absolute Lambda path, ``roots`` the
    extension modules among them (:func:`extension_roots`), ``available`` every file
    path of the view, ``os_name`` the runtime's Amazon Linux. Objects keep ``objects``' order,
    entries DT_NEEDED order, each with the directories searched the first time it failed.
    """
    loader = _Loader(objects, available, os_name)
    reached: set[str] = set()
    for root in roots:
        reached |= loader.load(root)
    for path in sorted(objects):  # objects no extension module loads: as if dlopen()ed
        if path not in reached:
            reached |= loader.load(path)
    out: dict[str, list[Unresolved]] = {}
    for (path, name), searched in loader.verdicts.failed.items():
        if (path, name) not in loader.verdicts.found:
            out.setdefault(path, []).append(Unresolved(name, searched))
    result: dict[str, list[Unresolved]] = {}
    for path in objects:  # the objects' order, each object's entries in DT_NEEDED order
        if path in out:
            order = {n: i for i, n in enumerate(dict.fromkeys(objects[path].needed))}  # first occurrence
            result[path] = sorted(out[path], key=lambda u: order.get(u.library, 0))
    return result
