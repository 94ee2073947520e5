"""What a source distribution says about its build (native.sdist), read from real .tar.gz and
.zip archives made here the way build backends lay them out (`name-version/` at the top)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from lambdapack.errors import InputError
from lambdapack.native.sdist import SdistFacts, cross_ready, read_sdist

SETUPTOOLS = '[build-system]\nrequires = ["setuptools>=61", "wheel"]\nbuild-backend = "setuptools.build_meta"\n'
MATURIN = ('[build-system]\nrequires = ["maturin>=1.5,<2.0"]\nbuild-backend = "maturin"\n\n'
           '[project]\nname = "demo"\nversion = "1.0"\n')
SETUPTOOLS_RUST = ('[build-system]\nrequires = ["setuptools", "setuptools_rust>=1.7"]\n'
                   'build-backend = "setuptools.build_meta"\n')
MESON = '[build-system]\nrequires = ["meson-python>=0.15", "Cython>=3"]\nbuild-backend = "mesonpy"\n'
SCIKIT_BUILD = '[build-system]\nrequires = ["scikit-build-core>=0.8", "pybind11"]\nbuild-backend = "scikit_build_core.build"\n'
NO_BUILD_SYSTEM = '[tool.black]\nline-length = 100\n'
SETUP_PY = b"from setuptools import setup, Extension\nsetup(ext_modules=[Extension('demo._ext', ['src/ext.c'])])\n"
LEGACY = SdistFacts("setuptools.build_meta:__legacy__", ("setuptools>=40.8.0",), False)


def make_sdist(path: Path, files: dict[str, str | bytes], *, top: str = "demo-1.0", prefix: str = "") -> Path:
    members = {f"{prefix}{top}/{n}": (d.encode() if isinstance(d, str) else d) for n, d in files.items()}
    members.setdefault(f"{prefix}{top}/PKG-INFO", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for n, d in members.items():
                z.writestr(n, d)
        return path
    with tarfile.open(path, "w:gz") as t:
        directory = tarfile.TarInfo(f"{prefix}{top}")
        directory.type = tarfile.DIRTYPE
        t.addfile(directory)
        for n, d in members.items():
            info = tarfile.TarInfo(n)
            info.size = len(d)
            t.addfile(info, io.BytesIO(d))
    return path


@pytest.fixture(params=["tar.gz", "zip"])
def ext(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_no_pyproject_is_setuptools_legacy(tmp_path: Path, ext: str) -> None:
    sdist = make_sdist(tmp_path / f"demo-1.0.{ext}", {"setup.py": SETUP_PY, "src/ext.c": "int x;\n"})
    facts = read_sdist(sdist)
    assert facts == LEGACY
    assert cross_ready(facts)


def test_a_pyproject_without_build_system_is_setuptools_legacy(tmp_path: Path, ext: str) -> None:
    sdist = make_sdist(tmp_path / f"demo-1.0.{ext}", {"pyproject.toml": NO_BUILD_SYSTEM, "setup.py": SETUP_PY})
    assert read_sdist(sdist) == LEGACY


def test_setuptools_is_cross_ready_and_not_rust(tmp_path: Path, ext: str) -> None:
    sdist = make_sdist(tmp_path / f"demo-1.0.{ext}", {"pyproject.toml": SETUPTOOLS, "setup.py": SETUP_PY})
    facts = read_sdist(sdist)
    assert facts == SdistFacts("setuptools.build_meta", ("setuptools>=61", "wheel"), False)
    assert cross_ready(facts)


def test_a_requires_only_build_system_keeps_the_legacy_backend(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "demo-1.0.tar.gz", {"pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'})
    assert read_sdist(sdist) == SdistFacts("setuptools.build_meta:__legacy__", ("setuptools",), False)


def test_maturin_is_rust(tmp_path: Path, ext: str) -> None:
    sdist = make_sdist(tmp_path / f"demo-1.0.{ext}", {"pyproject.toml": MATURIN, "src/lib.rs": "fn main() {}\n"})
    facts = read_sdist(sdist)
    assert facts == SdistFacts("maturin", ("maturin>=1.5,<2.0",), True)
    assert not cross_ready(facts)


def test_setuptools_rust_in_requires_is_rust_whatever_its_spelling(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "demo-1.0.tar.gz", {"pyproject.toml": SETUPTOOLS_RUST})
    facts = read_sdist(sdist)
    assert facts.rust and facts.backend == "setuptools.build_meta"
    hyphen = make_sdist(tmp_path / "demo-2.0.tar.gz", {"pyproject.toml": SETUPTOOLS_RUST.replace("_rust", "-rust")})
    assert read_sdist(hyphen).rust
    capital = make_sdist(tmp_path / "demo-3.0.tar.gz", {"pyproject.toml": SETUPTOOLS_RUST.replace("setuptools_rust",
                                                                                                    "Setuptools-Rust")})
    assert read_sdist(capital).rust


def test_a_cargo_toml_in_a_subfolder_is_rust(tmp_path: Path, ext: str) -> None:
    files: dict[str, str | bytes] = {"pyproject.toml": SETUPTOOLS, "rust/inner/Cargo.toml": '[package]\nname = "x"\n'}
    facts = read_sdist(make_sdist(tmp_path / f"demo-1.0.{ext}", files))
    assert facts.rust and facts.backend == "setuptools.build_meta"


def test_control_a_name_ending_in_cargo_toml_is_not_a_cargo_toml(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"pyproject.toml": SETUPTOOLS, "docs/NotCargo.toml": "x = 1\n"}
    assert not read_sdist(make_sdist(tmp_path / "demo-1.0.tar.gz", files)).rust


@pytest.mark.parametrize(("text", "backend"), [(MESON, "mesonpy"), (SCIKIT_BUILD, "scikit_build_core.build")])
def test_meson_python_and_scikit_build_are_not_cross_ready(tmp_path: Path, text: str, backend: str) -> None:
    facts = read_sdist(make_sdist(tmp_path / "demo-1.0.tar.gz", {"pyproject.toml": text}))
    assert facts.backend == backend and not facts.rust
    assert not cross_ready(facts)


def test_only_the_top_level_pyproject_counts(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"vendor/sub/pyproject.toml": MATURIN, "setup.py": SETUP_PY}
    assert read_sdist(make_sdist(tmp_path / "demo-1.0.tar.gz", files)) == LEGACY


def test_members_named_with_a_dot_slash_prefix_are_read(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "demo-1.0.tar.gz", {"pyproject.toml": MESON}, prefix="./")
    assert read_sdist(sdist).backend == "mesonpy"


def test_broken_toml_falls_back_to_the_legacy_default(tmp_path: Path, ext: str) -> None:
    sdist = make_sdist(tmp_path / f"demo-1.0.{ext}", {"pyproject.toml": '[build-system\nrequires = ["maturin"\n'})
    assert read_sdist(sdist) == LEGACY


def test_non_utf8_toml_does_not_raise(tmp_path: Path) -> None:
    text = SETUPTOOLS.encode() + b"# caf\xe9\n"
    assert read_sdist(make_sdist(tmp_path / "demo-1.0.tar.gz", {"pyproject.toml": text})).backend == \
        "setuptools.build_meta"


def _damaged(tmp_path: Path, name: str) -> Path:
    good = make_sdist(tmp_path / f"good-{name}", {"pyproject.toml": SETUPTOOLS, "setup.py": SETUP_PY})
    data = good.read_bytes()
    bad = tmp_path / name
    bad.write_bytes(data[: len(data) // 2])
    return bad


@pytest.mark.parametrize("name", ["demo-1.0.tar.gz", "demo-1.0.zip"])
def test_a_truncated_archive_is_an_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError) as e:
        read_sdist(_damaged(tmp_path, name))
    assert e.value.message.startswith(f"reading the source distribution {name}: ")
    assert e.value.hint is not None and "--refresh" in e.value.hint


def test_not_an_archive_and_a_missing_file_are_input_errors(tmp_path: Path) -> None:
    html = tmp_path / "demo-1.0.tar.gz"
    html.write_text("<html><body>404 Not Found</body></html>\n")
    with pytest.raises(InputError):
        read_sdist(html)
    with pytest.raises(InputError):
        read_sdist(tmp_path / "absent-1.0.zip")


def test_a_corrupted_tar_gz_is_an_input_error(tmp_path: Path) -> None:
    good = make_sdist(tmp_path / "good.tar.gz", {"pyproject.toml": SETUPTOOLS * 40})
    data = bytearray(good.read_bytes())
    data[40:56] = bytes(b ^ 0xFF for b in data[40:56])  # inside the deflate stream
    bad = tmp_path / "demo-1.0.tar.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError):
        read_sdist(bad)


def test_a_corrupted_zip_member_is_an_input_error(tmp_path: Path) -> None:
    good = make_sdist(tmp_path / "good.zip", {"pyproject.toml": SETUPTOOLS * 40})
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("demo-1.0/pyproject.toml")
    data = bytearray(good.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the member's data
    data[start + 4:start + 12] = bytes(b ^ 0xFF for b in data[start + 4:start + 12])
    bad = tmp_path / "demo-1.0.zip"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError):
        read_sdist(bad)
