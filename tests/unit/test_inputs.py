from __future__ import annotations

from pathlib import Path

import pytest

from lambdapack.errors import InputError
from lambdapack.resolve.detect import choose_default_input
from lambdapack.resolve.pyprojectfile import pyproject_requirements, read_pyproject
from lambdapack.resolve.requirementsfile import parse_requirements_text, read_requirements_file


def find_default_input(src: Path) -> Path | None:
    choice = choose_default_input(src)
    return choice.path if choice is not None else None


def names(reqs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.name for r in reqs]


def test_hash_checking_mode_with_continuations(tmp_path: Path) -> None:
    text = (
        "# pinned\n"
        "requests==2.32.3 \\\n"
        "    --hash=sha256:aaaa \\\n"
        "    --hash=sha256:bbbb\n"
        "six==1.17.0 --hash=sha256:cccc  # trailing comment\n"
        "--index-url https://example.invalid/simple\n"
        "typing-extensions; python_version < '3.12'\n"
    )
    reqs = parse_requirements_text(text, tmp_path)
    assert names(reqs) == ["requests", "six", "typing-extensions"]
    assert str(reqs[0].specifier) == "==2.32.3"
    assert reqs[2].marker is not None


def test_includes_are_followed_once(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("six\n-r requirements.txt\n")
    (tmp_path / "requirements.txt").write_text("-r base.txt\nattrs\n")
    reqs = read_requirements_file(tmp_path / "requirements.txt")
    assert sorted(names(list(reqs.top_level))) == ["attrs", "six"]


def test_missing_include_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("-r nope.txt\n")
    with pytest.raises(InputError, match=r"nope\.txt"):
        read_requirements_file(tmp_path / "r.txt")


def test_invalid_requirement_line(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("requests>>2\n")
    with pytest.raises(InputError, match="invalid requirement"):
        read_requirements_file(tmp_path / "r.txt")


def test_unreadable_requirements(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_requirements_file(tmp_path)  # a directory
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="not a text requirements file: byte 2"):
        read_requirements_file(tmp_path / "bin.txt")


def test_urls_and_paths_are_left_to_uv(tmp_path: Path) -> None:
    reqs = parse_requirements_text("./vendor/pkg\nhttps://example.invalid/x.whl\n", tmp_path)
    assert reqs == []


def test_pyproject_with_extras(tmp_path: Path) -> None:
    data = {"project": {"dependencies": ["requests"], "optional-dependencies": {"fast": ["orjson"]}}}
    assert names(pyproject_requirements(data, ("fast",), "x")) == ["requests", "orjson"]
    with pytest.raises(InputError, match="no optional dependency group 'slow'"):
        pyproject_requirements(data, ("slow",), "x")


def test_pyproject_dynamic_dependencies_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "pyproject.toml"
    p.write_text('[project]\nname="x"\nversion="1"\ndynamic=["dependencies"]\n')
    with pytest.raises(InputError, match="dynamic"):
        read_pyproject(p, ())
    p.write_text("[project\n")
    with pytest.raises(InputError, match="not valid TOML"):
        read_pyproject(p, ())


def test_default_input_order(tmp_path: Path) -> None:
    assert find_default_input(tmp_path) is None
    (tmp_path / "requirements.txt").write_text("six\n")
    assert find_default_input(tmp_path) == tmp_path / "requirements.txt"
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length=100\n")
    assert find_default_input(tmp_path) == tmp_path / "requirements.txt"  # no [project] deps
    (tmp_path / "pyproject.toml").write_text('[project]\nname="x"\nversion="1"\ndependencies=["six"]\n')
    assert find_default_input(tmp_path) == tmp_path / "pyproject.toml"
    (tmp_path / "uv.lock").write_text("version = 1\n")
    assert find_default_input(tmp_path) == tmp_path / "uv.lock"


# --- bounded, text-only reading; piped inputs ----------------------------------------

import io  # noqa: E402
import os  # noqa: E402

from lambdapack.resolve.requirementsfile import (  # noqa: E402
    MAX_REQUIREMENTS_BYTES,
    absolute_includes,
    decode_requirements,
    is_piped_path,
    piped_requirements,
    read_piped,
)


@pytest.mark.parametrize(
    ("data", "offset", "byte"),
    [
        (b"six==1.16.0\n\x00\x00", 12, "0x00"),
        (b"\x7fELF\x02\x01\x01\x00rest", 7, "0x00"),
        (b"PK\x03\x04\x14\x00", 5, "0x00"),
        (b"six==1.16.0  # caf\xe9\n", 18, "0xe9"),
        (b"\xff\xfes\x00i\x00x\x00", 3, "0x00"),  # UTF-16 from PowerShell: the NUL comes first
    ],
)
def test_binary_data_is_named_with_its_first_bad_byte(data: bytes, offset: int, byte: str) -> None:
    with pytest.raises(InputError) as ei:
        decode_requirements(data, "reqs.bin")
    assert ei.value.message.startswith("reqs.bin is not a text requirements file: ")
    line = data[:offset].count(b"\n") + 1
    assert f"byte {offset} (line {line}; bytes count from 0) is {byte}" in ei.value.message
    assert ei.value.hint and "UTF-8" in ei.value.hint


def test_utf8_text_and_its_signature_are_accepted() -> None:
    assert decode_requirements("six  # café\n".encode(), "r") == "six  # café\n"
    assert decode_requirements(b"\xef\xbb\xbfsix\n", "r") == "six\n"


def test_requirements_file_over_the_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    with big.open("wb") as f:
        f.truncate(MAX_REQUIREMENTS_BYTES + 1)  # sparse: the size check must not read it
    with pytest.raises(InputError, match=r"huge\.txt is larger than 10 MiB, the limit for a requirements file"):
        read_requirements_file(big)
    at_limit = tmp_path / "ok.txt"
    at_limit.write_bytes(b"six\n" + b"#" * (MAX_REQUIREMENTS_BYTES - 5) + b"\n")
    assert names(list(read_requirements_file(at_limit).top_level)) == ["six"]


def test_a_binary_include_is_an_input_error_naming_the_include(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("-r blob.bin\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match=r"blob\.bin is not a text requirements file: byte 0"):
        read_requirements_file(tmp_path / "r.txt")


def test_binary_pyproject_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"[project]\x00")
    with pytest.raises(InputError, match=r"is not a text TOML file: byte 9"):
        read_pyproject(tmp_path / "pyproject.toml", ())


def test_piped_paths(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("six\n")
    assert is_piped_path(Path("-"))
    assert is_piped_path(Path("/dev/stdin"))
    assert not is_piped_path(tmp_path / "r.txt")
    assert not is_piped_path(tmp_path / "missing.txt")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        assert is_piped_path(tmp_path / "fifo")


def test_stdin_is_read_once_and_bounded(tmp_path: Path) -> None:
    stream = io.BytesIO(b"six==1.16.0\n")
    piped = read_piped(Path("-"), stream, tmp_path)
    assert piped.text == "six==1.16.0\n" and piped.name == "standard input"
    assert stream.read() == b""  # consumed, nothing left behind for anyone to re-read
    with pytest.raises(InputError, match=r"^standard input is larger than 10 MiB"):
        read_piped(Path("-"), io.BytesIO(b"a" * (MAX_REQUIREMENTS_BYTES + 1)), tmp_path)
    with pytest.raises(InputError, match=r"^standard input is not a text requirements file"):
        read_piped(Path("-"), io.BytesIO(b"\xff"), tmp_path)
    with pytest.raises(InputError, match=r"reads requirements from standard input, but there is none"):
        read_piped(Path("-"), None, tmp_path)


def test_same_content_same_digest_different_content_different_digest(tmp_path: Path) -> None:
    a = read_piped(Path("-"), io.BytesIO(b"six==1.16.0\n"), tmp_path)
    b = read_piped(Path("-"), io.BytesIO(b"six==1.16.0\n"), tmp_path)
    c = read_piped(Path("-"), io.BytesIO(b"six==1.17.0\n"), tmp_path)
    assert a.sha256 == b.sha256 != c.sha256


def test_piped_includes_resolve_against_the_current_directory(tmp_path: Path) -> None:
    absolute = tmp_path.resolve() / "abs.txt"
    text = f"-r base.txt\n--constraint=c.txt  # pins\n-r {absolute}\nsix\n-r https://e.invalid/r.txt\n"
    out = absolute_includes(text, tmp_path)
    assert out.splitlines() == [
        f"-r {(tmp_path / 'base.txt').resolve()}",
        f"--constraint={(tmp_path / 'c.txt').resolve()}  # pins",
        f"-r {absolute}",
        "six",
        "-r https://e.invalid/r.txt",
    ]


def test_piped_requirements_write_the_file_uv_reads(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "base.txt").write_text("attrs\n")
    # `proj` stands for the current directory, which a shell pipe's relative paths mean.
    piped = read_piped(Path("-"), io.BytesIO(b"-r base.txt\nsix\n"), proj)
    work = tmp_path / "work"
    work.mkdir()
    reqs = piped_requirements(piped, work / "piped-requirements.txt")
    assert reqs.uv_file == work / "piped-requirements.txt"
    assert reqs.uv_file.read_text() == f"-r {(proj / 'base.txt').resolve()}\nsix\n"
    assert sorted(names(list(reqs.top_level))) == ["attrs", "six"]
    assert reqs.included == ((proj / "base.txt").resolve(),)
    assert reqs.describe() == "standard input [requirements]"
