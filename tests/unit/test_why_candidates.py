"""`why REQUIREMENT`'s selection, pure: real file names from PyPI's numpy page (2.0.2 and 2.1.3,
with their Requires-Python), a specifier and a target in, the releases, each file's verdict,
the wheel that would be installed and the newest release that fits out."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from lambdapack.errors import UsageError
from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.resolve.candidates import parse_requirement, pinned, select
from lambdapack.resolve.indexlisting import IndexFile
from lambdapack.target.tags import Target

PY39 = Target(get_runtime("python3.9"), Arch.X86_64)
PY311_ARM = Target(get_runtime("python3.11"), Arch.ARM64)

_202 = [f"numpy-2.0.2-{t}.whl" for t in (
    "cp39-cp39-macosx_14_0_x86_64", "cp39-cp39-manylinux_2_17_aarch64.manylinux2014_aarch64",
    "cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp39-cp39-win_amd64",
    "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-cp311-musllinux_1_2_aarch64", "pp39-pypy39_pp73-manylinux_2_17_x86_64.manylinux2014_x86_64",
)] + ["numpy-2.0.2.tar.gz"]
_213 = [f"numpy-2.1.3-{t}.whl" for t in (
    "cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64",
    "cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp313-cp313-win_amd64",
)] + ["numpy-2.1.3.tar.gz"]
NUMPY = [IndexFile(n, ">=3.9") for n in _202] + [IndexFile(n, ">=3.10") for n in _213]


def test_a_pinned_release_names_the_wheel_that_installs() -> None:
    sel = select("numpy", NUMPY, SpecifierSet("==2.0.2"), PY311_ARM)
    assert [r.version for r in sel.releases] == ["2.0.2"]
    (r,) = sel.releases
    assert r.install is not None
    assert r.install.filename == "numpy-2.0.2-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    assert r.install.tag == "cp311-cp311-manylinux_2_17_aarch64" and r.install.rank is not None
    assert sel.fits is r and r.why_not is None and not r.sdist_only
    verdicts = {c.filename: c for c in r.files}
    assert len(verdicts) == len(_202)
    assert not verdicts["numpy-2.0.2-cp311-cp311-musllinux_1_2_aarch64.whl"].compatible
    assert "musl" in verdicts["numpy-2.0.2-cp311-cp311-musllinux_1_2_aarch64.whl"].reason
    assert not verdicts["numpy-2.0.2.tar.gz"].wheel and not verdicts["numpy-2.0.2.tar.gz"].compatible
    assert [c.filename for c in r.files if c.compatible] == [r.install.filename]


def test_the_newest_has_no_wheel_for_the_python_and_an_older_one_fits() -> None:
    sel = select("numpy", NUMPY, SpecifierSet(), PY39)
    assert [r.version for r in sel.releases] == ["2.1.3", "2.0.2"] and sel.newest == "2.1.3"
    newest, older = sel.releases
    assert newest.install is None and newest.why_not == "numpy 2.1.3 has no wheel for cp39 (Python 3.9)"
    # Requires-Python >=3.10 is a problem of its own, beside the tag's
    assert all(any("requires Python >=3.10" in p for p in c.problems) for c in newest.files if c.wheel)
    assert sel.fits is older and older.install is not None
    assert older.install.filename == "numpy-2.0.2-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def test_the_newest_few_and_the_one_that_fits_below_them() -> None:
    files = [IndexFile(f"numpy-2.{m}.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl") for m in range(1, 9)]
    files.append(IndexFile("numpy-2.0.2-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"))
    sel = select("numpy", files, SpecifierSet(), PY39, shown=3)
    assert [r.version for r in sel.releases] == ["2.8.0", "2.7.0", "2.6.0", "2.0.2"]
    assert sel.fits is not None and sel.fits.version == "2.0.2"
    assert select("numpy", files, SpecifierSet("<2.0"), PY39).releases == ()


def test_glibc_too_new_is_the_reason() -> None:
    # numpy 2.3.x's cp311 x86_64 wheels are manylinux_2_28: python3.11 is Amazon Linux 2 (glibc 2.26)
    files = [IndexFile("numpy-2.3.5-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", ">=3.11")]
    sel = select("numpy", files, SpecifierSet(), Target(get_runtime("python3.11"), Arch.X86_64))
    (r,) = sel.releases
    assert sel.fits is None and r.why_not is not None
    assert "needs glibc 2.27" in r.why_not and "2.26" in r.why_not


def test_yanked_files_are_skipped_unless_pinned() -> None:
    good = "numpy-2.0.2-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    yanked = "numpy-2.0.1-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    files = [IndexFile(good), IndexFile(yanked, yanked=True)]
    sel = select("numpy", files, SpecifierSet(">=2.0.1"), PY39)
    assert [r.version for r in sel.releases] == ["2.0.2"]  # an all-yanked release is gone
    sel = select("numpy", files, SpecifierSet("<=2.0.2"), PY39)
    assert [r.version for r in sel.releases] == ["2.0.2"]
    pin = select("numpy", files, SpecifierSet("==2.0.1"), PY39)
    (r,) = pin.releases
    assert r.install is not None and r.install.yanked and r.install.filename == yanked
    mixed = [IndexFile(good, yanked=True), IndexFile("numpy-2.0.2.tar.gz")]
    (m,) = select("numpy", mixed, SpecifierSet(), PY39).releases
    assert m.install is None and m.files[0].yanked and "yanked" in m.files[0].reason


def test_sdist_only_and_pre_releases() -> None:
    files = [IndexFile("docopt-0.6.2.tar.gz"), IndexFile("docopt-0.7.0rc1.tar.gz")]
    sel = select("docopt", files, SpecifierSet(), PY39)
    assert [r.version for r in sel.releases] == ["0.6.2"]  # no pre-release while a final matches
    assert sel.releases[0].sdist_only and sel.fits is None
    assert sel.releases[0].why_not == "docopt 0.6.2 has only a source distribution (no wheel)"


def test_requirements_parsed_and_refused() -> None:
    assert pinned(parse_requirement("numpy==2.0.2").specifier) == "2.0.2"
    assert pinned(parse_requirement("numpy==2.*").specifier) is None
    assert pinned(parse_requirement("numpy>=1.26,<2").specifier) is None
    with pytest.raises(UsageError, match="not a wheel file name or a requirement"):
        parse_requirement("numpy>")
    with pytest.raises(UsageError, match="URL"):
        parse_requirement("numpy @ https://example.org/numpy-2.0.2.tar.gz")
