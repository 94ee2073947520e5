from __future__ import annotations

import os
import threading
import zipfile
from pathlib import Path

import pytest

from lambdapack.assemble.stage import SourceOptions, is_installer_leftover, source_entries
from lambdapack.errors import InputError
from lambdapack.pack.zipwriter import atomic_output, check_writable, write_zip, zip_date_time
from lambdapack.staged import StagedFile


def make_tree(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "handler.py").write_text("def h(e, c):\n    return 1\n")
    (root / "bootstrap").write_text("#!/bin/sh\n")
    (root / "bootstrap").chmod(0o700)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref\n")
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / ".venv").mkdir()
    (root / ".venv" / "pyvenv.cfg").write_text("home=/x\n")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home=/x\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_h.py").write_text("def test(): pass\n")


def test_zip_date_time() -> None:
    assert zip_date_time({}) == (1980, 1, 1, 0, 0, 0)
    assert zip_date_time({"SOURCE_DATE_EPOCH": "0"}) == (1980, 1, 1, 0, 0, 0)
    assert zip_date_time({"SOURCE_DATE_EPOCH": "1700000001"}) == (2023, 11, 14, 22, 13, 20)
    assert zip_date_time({"SOURCE_DATE_EPOCH": "garbage"}) == (1980, 1, 1, 0, 0, 0)


def test_source_excludes(tmp_path: Path) -> None:
    make_tree(tmp_path)
    names = sorted(e.arcname for e in source_entries(tmp_path))
    assert names == ["bootstrap", "handler.py", "pkg/__init__.py", "tests/test_h.py"]
    names = sorted(e.arcname for e in source_entries(tmp_path, SourceOptions(exclude_tests=True, extra_excludes=("*.sh", "pkg/*"))))
    assert names == ["bootstrap", "handler.py"]


def test_installer_leftovers() -> None:
    from pathlib import PurePosixPath as P

    assert is_installer_leftover(P("bin/normalizer"))
    assert is_installer_leftover(P(".lock"))
    assert is_installer_leftover(P("six/__pycache__/six.cpython-311.pyc"))
    assert not is_installer_leftover(P("numpy/core/include/x.h"))
    assert not is_installer_leftover(P("binpacking/x.py"))


def test_same_inputs_same_bytes_whatever_the_mtime_and_umask(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src)
    a = write_zip(source_entries(src), tmp_path / "a.zip", environ={})
    for p in src.rglob("*"):
        os.utime(p, (1_000_000_000, 1_000_000_000))
    (src / "handler.py").chmod(0o600)
    old = os.umask(0o077)
    try:
        b = write_zip(source_entries(src), tmp_path / "b.zip", environ={})
    finally:
        os.umask(old)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert a.sha256_hex == b.sha256_hex
    c = write_zip(source_entries(src), tmp_path / "c.zip", environ={"SOURCE_DATE_EPOCH": "1700000000"})
    assert c.sha256_hex != a.sha256_hex
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
        assert modes["bootstrap"] == 0o755 and modes["handler.py"] == 0o644
        assert {i.create_system for i in infos} == {3}
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert all(not i.extra for i in infos)


def test_sha256_base64_is_lambdas_codesha256(tmp_path: Path) -> None:
    import base64
    import hashlib

    src = tmp_path / "s"
    src.mkdir()
    (src / "a.py").write_text("a")
    art = write_zip(source_entries(src), tmp_path / "o.zip", environ={})
    raw = hashlib.sha256((tmp_path / "o.zip").read_bytes()).digest()
    assert art.sha256_base64 == base64.b64encode(raw).decode()
    assert art.unzipped_bytes == 1 and art.files == 1


def test_atomic_output_leaves_old_file_and_no_partial(tmp_path: Path) -> None:
    out = tmp_path / "o.zip"
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(out) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.zip"]


def test_entries_keep_size_and_owner(tmp_path: Path) -> None:
    src = tmp_path / "s"
    src.mkdir()
    (src / "m.py").write_text("12345")
    (e,) = source_entries(src)
    assert e == StagedFile("m.py", src / "m.py", False, 5, None)


def test_record_drops_files_that_are_not_shipped() -> None:
    from lambdapack.assemble.stage import filtered_record

    text = (
        "bin/f2py,sha256=abc,311\n"
        "numpy/__init__.py,sha256=def,100\n"
        "numpy/__pycache__/__init__.cpython-312.pyc,,\n"
        '"odd,name.py",sha256=x,1\n'
        "numpy-2.5.5.dist-info/RECORD,,\n"
    )
    assert filtered_record(text) == (
        'numpy/__init__.py,sha256=def,100\n"odd,name.py",sha256=x,1\nnumpy-2.5.5.dist-info/RECORD,,\n'
    )


def test_atomic_output_over_a_hard_link_of_itself_leaves_no_partial(tmp_path: Path) -> None:
    # A no-change rebuild links the cached zip to the temp name while `out` is already
    # a link to it; rename(2) then does nothing, and the temp name used to stay behind.
    cached = tmp_path / "cached.zip"
    cached.write_bytes(b"zip bytes")
    out = tmp_path / "out.zip"
    os.link(cached, out)
    with atomic_output(out) as tmp:
        tmp.unlink()
        os.link(cached, tmp)
    assert out.read_bytes() == b"zip bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cached.zip", "out.zip"]


def test_check_writable_from_threads_sharing_a_new_directory(tmp_path: Path) -> None:
    # A project's jobs check dist/a.zip, dist/b.zip ... at once, before dist/ exists: one check's
    # undo once removed the directory under another, or its mkdir met the other's (EEXIST).
    for n in range(20):
        root = tmp_path / str(n)
        start = threading.Barrier(8)
        errors: list[Exception] = []

        def check(i: int, root: Path = root, start: threading.Barrier = start, errors: list[Exception] = errors) -> None:
            start.wait()
            try:
                check_writable(root / "dist" / f"{i}.zip")
            except Exception as e:  # collected: the assertion below names it
                errors.append(e)

        threads = [threading.Thread(target=check, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and not root.exists()


def test_check_writable_undoes_what_it_creates(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "f.zip"
    check_writable(out)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "d.zip").mkdir()
    with pytest.raises(InputError, match=r"^it is a directory while writing the output: .*d\.zip$"):
        check_writable(tmp_path / "d.zip")


def test_packing_counts_a_large_member_as_it_is_compressed(tmp_path: Path) -> None:
    """The counter moves while one big library is compressed, not only when it is done, and
    adds up to the members' bytes exactly (a small member and a second zip from stored blobs too)."""
    from lambdapack.pack.members import BlobStore
    from lambdapack.pack.zipwriter import write_zip_to

    big = tmp_path / "libbig.so"
    big.write_bytes(os.urandom(5 << 20))  # 5 chunks of 1 MiB
    small = tmp_path / "m.py"
    small.write_text("X = 1\n")
    entries = [StagedFile("libbig.so", big, False, big.stat().st_size, None),
               StagedFile("m.py", small, False, small.stat().st_size, None)]
    store = BlobStore(tmp_path / "blobs")
    lock = threading.Lock()
    for name in ("a.zip", "b.zip"):  # b.zip: every blob is already stored
        steps: list[int] = []

        def advance(n: int, steps: list[int] = steps) -> None:
            with lock:
                steps.append(n)

        write_zip_to(entries, tmp_path / f"{name}.tmp", tmp_path / name, store=store, advance=advance)
        assert sum(steps) == sum(e.size for e in entries), steps
        if name == "a.zip":
            assert len([n for n in steps if n]) >= 5, steps  # chunk by chunk


def test_the_writers_member_sizes_are_the_zips_own(tmp_path: Path) -> None:
    """The size report takes the sizes the writer wrote instead of reading the zip again:
    they must be what the zip's directory says, an incompressible and an empty member included."""
    from lambdapack.report.sizes import zip_member_sizes

    src = tmp_path / "s"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "mod.py").write_text("x = 1\n" * 4000)
    (src / "pkg" / "blob.bin").write_bytes(os.urandom(70_000))  # deflate cannot shrink it: zipped > unzipped
    (src / "handler.py").write_text("def handler(e, c):\n    return e\n")
    (src / "empty.txt").write_bytes(b"")
    out = tmp_path / "o.zip"
    art = write_zip(source_entries(src), out, environ={})
    assert dict(art.member_sizes) == zip_member_sizes(out)
    on_disk = sum(f.stat().st_size for f in src.rglob("*") if f.is_file())
    assert art.unzipped_bytes == sum(u for u, _z in art.member_sizes.values()) == on_disk


def test_the_zips_hash_is_its_bytes_when_a_damaged_blob_is_written_again(tmp_path: Path) -> None:
    """The writer hashes the zip as it writes it; a member found damaged in the store is
    written again over its first attempt, and the hash must still be the file's own."""
    import hashlib

    from lambdapack.pack.members import BlobStore
    from lambdapack.pack.zipwriter import write_zip_to

    src = tmp_path / "s"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "big.bin").write_bytes(os.urandom(300_000) + b"x" * 300_000)
    (src / "pkg" / "mod.py").write_text("x = 1\n" * 500)
    (src / "handler.py").write_text("def h(e, c):\n    return 1\n")
    store = BlobStore(tmp_path / "blobs")
    first = write_zip_to(source_entries(src), tmp_path / "a.tmp", tmp_path / "a.zip", store=store)
    assert first.sha256_hex == hashlib.sha256((tmp_path / "a.tmp").read_bytes()).hexdigest()
    blob = max((p for p in (tmp_path / "blobs").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    raw = bytearray(blob.read_bytes())
    raw[-100] ^= 0xFF  # inside the compressed data: only its seal can tell
    blob.write_bytes(bytes(raw))
    again = write_zip_to(source_entries(src), tmp_path / "b.tmp", tmp_path / "b.zip", store=store)
    written = (tmp_path / "b.tmp").read_bytes()
    assert written == (tmp_path / "a.tmp").read_bytes()
    assert again.sha256_hex == hashlib.sha256(written).hexdigest() == first.sha256_hex
