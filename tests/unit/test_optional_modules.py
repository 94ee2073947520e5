"""LP007 for modules a package imports only on request (facts/optional): a warning for
exactly their listed libraries, an error for anything else, on real ELF files
(tests/fixtures/optional, built by its make_fixtures.py) in a numba-like tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lambdapack.facts.layout import sys_path
from lambdapack.facts.optional import optional_library
from lambdapack.inspect.check import check

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPTIONAL = FIXTURES / "optional"
SUFFIX = ".cpython-312-x86_64-linux-gnu.so"
UFUNC = "numba/np/ufunc"


def _tree(root: Path, files: dict[str, Path], owner: str | None = "numba") -> Path:
    """A layer's python/ with numba's packages, the given ELF files, and a RECORD naming them."""
    for pkg in ("numba", "numba/np", UFUNC):
        (root / pkg).mkdir(parents=True, exist_ok=True)
        (root / pkg / "__init__.py").write_text("")
    for rel, src in files.items():
        shutil.copyfile(src, root / rel)
    if owner is not None:
        info = root / f"{owner}-0.68.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {owner}\nVersion: 0.68.1\n")
        rows = [f"{p}/__init__.py,," for p in ("numba", "numba/np", UFUNC)] + [f"{r},," for r in files]
        (info / "RECORD").write_text("\n".join([*rows, f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]) + "\n")
    return root.parent


def _lp007(layer: Path) -> list[tuple[str, str, str]]:
    result = check([], [layer], runtime="python3.12", arch="x86_64")
    return sorted((f.severity.value, f.path.rsplit("/", 1)[-1], f.message) for f in result.findings
                  if f.code == "LP007")


def test_numbas_threading_layers_are_warnings_saying_what_numba_does_instead(tmp_path: Path) -> None:
    layer = _tree(tmp_path / "layer" / "python", {
        f"{UFUNC}/omppool{SUFFIX}": OPTIONAL / "needs_gomp.so",
        f"{UFUNC}/tbbpool{SUFFIX}": OPTIONAL / "needs_tbb.so",
    })
    got = _lp007(layer)
    assert [(sev, name) for sev, name, _ in got] == [("warning", f"omppool{SUFFIX}"), ("warning", f"tbbpool{SUFFIX}")]
    omp, tbb = (m for _, _, m in got)
    assert omp.startswith("numba's OpenMP threading layer cannot load (libgomp.so.1.0.0 is not in the package")
    assert "workqueue" in omp and "libtbb.so.12" in tbb and "workqueue" in tbb
    assert not check([], [layer], runtime="python3.12", arch="x86_64").errors


def test_a_required_library_missing_in_numba_stays_an_error(tmp_path: Path) -> None:
    layer = _tree(tmp_path / "layer" / "python", {
        f"{UFUNC}/omppool{SUFFIX}": OPTIONAL / "needs_gomp_and_foo.so",  # libfoo is not optional
        f"{UFUNC}/_internal{SUFFIX}": FIXTURES / "needed" / "ext_needs_foo.so",
        f"{UFUNC}/workqueue{SUFFIX}": OPTIONAL / "needs_gomp.so",  # libgomp is optional for omppool only
    })
    got = [(sev, name, msg.split(",")[0]) for sev, name, msg in _lp007(layer)]
    assert got == [
        ("error", f"_internal{SUFFIX}", "needs libfoo.so.1"),
        ("error", f"omppool{SUFFIX}", "needs libfoo.so.1"),
        ("error", f"workqueue{SUFFIX}", "needs libgomp.so.1.0.0"),
        ("warning", f"omppool{SUFFIX}", "numba's OpenMP threading layer cannot load (libgomp.so.1.0.0 is not in the "
         "package and not part of Amazon Linux 2023); numba uses its TBB or workqueue threading layer instead (NUMBA_"
         "THREADING_LAYER=omp would fail)"),
    ]
    assert check([], [layer], runtime="python3.12", arch="x86_64").errors == 3


def test_the_same_module_of_another_distribution_is_an_error(tmp_path: Path) -> None:
    layer = _tree(tmp_path / "layer" / "python", {f"{UFUNC}/omppool{SUFFIX}": OPTIONAL / "needs_gomp.so"},
                  owner="numba_fork")
    assert [sev for sev, _, _ in _lp007(layer)] == ["error"]


@pytest.mark.parametrize(("path", "owner", "library", "optional"), [
    ("/opt/python/numba/np/ufunc/omppool" + SUFFIX, "numba 0.68.1", "libgomp.so.1.0.0", True),
    ("/opt/python/lib/python3.12/site-packages/numba/np/ufunc/tbbpool.cpython-312-aarch64-linux-gnu.so",
     "Numba 0.60.0", "libtbb.so.12", True),
    ("/var/task/numba/np/ufunc/omppool" + SUFFIX, None, "libgomp.so.1.0.0", True),  # owner unknown
    ("/var/task/numba/np/ufunc/omppool" + SUFFIX, "numba 0.68.1", "libtbb.so.12", False),  # another library
    ("/var/task/numba/np/ufunc/omppool" + SUFFIX, "numba 0.68.1", "libstdc++.so.6", False),
    ("/var/task/numba/np/ufunc/workqueue" + SUFFIX, "numba 0.68.1", "libgomp.so.1.0.0", False),
    ("/var/task/vendor/numba/np/ufunc/omppool" + SUFFIX, "numba 0.68.1", "libgomp.so.1.0.0", False),  # not numba's
    ("/var/task/numba/np/ufunc/omppool.py", "numba 0.68.1", "libgomp.so.1.0.0", False),
    ("/opt/numba/np/ufunc/omppool" + SUFFIX, "numba 0.68.1", "libgomp.so.1.0.0", False),  # not on sys.path
])
def test_optional_library(path: str, owner: str | None, library: str, optional: bool) -> None:
    assert (optional_library(path, sys_path("3.12"), owner, library) is not None) is optional
