"""bench/matrix.py's arm64 roots: the private apt sources, the merged-/usr links, several roots at once.

The matrix itself is a benchmark (minutes to hours); these are the parts of it that decide where
an arm64 import runs from, checked with real files and the real apt (offline: --print-uris).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

MATRIX = Path(__file__).resolve().parents[2] / "bench" / "matrix.py"


@pytest.fixture(scope="module")
def matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_matrix", MATRIX)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_a_suite_name_is_checked_before_it_reaches_a_sources_line(matrix: ModuleType) -> None:
    line = matrix.suite_sources("trixie")
    assert line == (f"deb [arch=arm64 signed-by={matrix.DEBIAN_KEYRING}] http://deb.debian.org/debian trixie main\n")
    for bad in ("trixie main contrib", "trixie\ndeb http://evil/ x main", "", "../x"):
        with pytest.raises(matrix.Failed, match="not a Debian suite name"):
            matrix.suite_sources(bad)


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_apt_reads_only_the_private_sources_list_for_a_suite(matrix: ModuleType, tmp_path: Path) -> None:
    if not matrix.DEBIAN_KEYRING.is_file():
        pytest.skip(f"no {matrix.DEBIAN_KEYRING}")
    for d in ("lists/partial", "cache/archives/partial"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "status").touch()
    opts = matrix.apt_options(tmp_path, "trixie")
    # --print-uris: what apt would fetch, without the network; the host's own sources
    # (another suite, other vendors' lists in sources.list.d) must not be among them.
    p = subprocess.run(["apt-get", *opts, "--print-uris", "update"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    uris = [ln.split("'")[1] for ln in p.stdout.splitlines() if ln.startswith("'")]
    assert uris and all(u.startswith("http://deb.debian.org/debian/dists/trixie/") for u in uris), uris
    assert any("binary-arm64" in u for u in uris), uris
    assert not any("Dir::Etc" in o for o in matrix.apt_options(tmp_path, None))


def test_merged_usr_links_only_where_the_packages_left_none(matrix: ModuleType, tmp_path: Path) -> None:
    trixie, bookworm = tmp_path / "trixie", tmp_path / "bookworm"
    for d in ("usr/lib", "usr/bin", "usr/sbin"):
        (trixie / d).mkdir(parents=True)
    (trixie / "usr/lib/ld-linux-aarch64.so.1").write_bytes(b"\x7fELF")
    (bookworm / "lib").mkdir(parents=True)  # bookworm's packages still ship /lib
    (bookworm / "usr/lib").mkdir(parents=True)
    matrix.merge_usr(trixie)
    matrix.merge_usr(bookworm)
    assert (trixie / "lib/ld-linux-aarch64.so.1").read_bytes() == b"\x7fELF"
    assert (trixie / "lib").is_symlink() and str((trixie / "lib").readlink()) == "usr/lib"
    assert (trixie / "bin").is_symlink() and (trixie / "sbin").is_symlink()
    assert not (bookworm / "lib").is_symlink() and not (bookworm / "bin").exists()


@pytest.mark.skipif(shutil.which("qemu-aarch64") is None and shutil.which("qemu-aarch64-static") is None,
                    reason="needs qemu-aarch64")
def test_each_root_gives_its_pythons_and_the_first_root_wins(matrix: ModuleType, tmp_path: Path) -> None:
    old, new = tmp_path / "bookworm", tmp_path / "trixie"
    for root, names in ((old, ("python3.11", "python3.11-config")), (new, ("python3.13", "python3.11"))):
        (root / "usr/bin").mkdir(parents=True)
        for name in names:
            (root / "usr/bin" / name).write_bytes(b"\x7fELF")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    got = matrix.arm64_wrappers([old, new], scratch)
    assert got.roots == {"python3.11": old, "python3.13": new}
    bindir = Path(got.env["PATH"])
    assert sorted(p.name for p in bindir.iterdir()) == ["python3.11", "python3.13"]
    assert f'-L "{old}" "{old}/usr/bin/python3.11"' in (bindir / "python3.11").read_text()
    assert f'-L "{new}" "{new}/usr/bin/python3.13"' in (bindir / "python3.13").read_text()
