"""What `verify` keeps of each member for the rules (inspect/keptreads.py) reads exactly as
inflating the member again would, and `check` finds the same with and without it.

The artifact is a layer zipped here from real installed packages: this venv's own
cryptography, deflate, markupsafe, yaml and charset_normalizer, native libraries and
Python sources of every size.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import deflate
import pytest

from lambdapack.inspect import credentials, keptreads
from lambdapack.inspect.archive import open_artifact
from lambdapack.inspect.check import check
from lambdapack.inspect.elf.model import ELFInvalid
from lambdapack.inspect.elf.reader import read_elf_prefix

SITE = Path(deflate.__file__).resolve().parent.parent
PACKAGES = ("cryptography", "deflate", "markupsafe", "yaml", "charset_normalizer")


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kept") / "layer.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in PACKAGES:
            for p in sorted((SITE / pkg).rglob("*")):
                if p.is_file() and "__pycache__" not in p.parts:
                    zf.write(p, "python/" + p.relative_to(SITE).as_posix())
        # A text file past the secrets scan's prefix, one with a secret in it (a made-up key
        # of the real format, past the prefix in the big one), and an ELF header of no machine.
        zf.writestr("python/big.txt", "line of text\n" * 20_000 + 'KEY = "AKIAZ7Q3M2X9P4L6R8TB"\n')
        zf.writestr("python/app/settings.py", 'AWS_ACCESS_KEY_ID = "AKIAZ7Q3M2X9P4L6R8TB"\n')
        zf.writestr("python/broken.so", b"\x7fELF\x02\x01\x01" + b"\0" * 200)
    return out


def _elf_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return [i.filename for i in zf.infolist() if zf.read(i.filename)[:4] == b"\x7fELF"]


def test_the_layer_holds_real_libraries(layer: Path) -> None:
    assert len(_elf_names(layer)) >= 4  # cryptography's rust core, _cffi-free deflate, markupsafe, yaml


def test_every_read_after_verify_is_the_members_bytes(layer: Path) -> None:
    with zipfile.ZipFile(layer) as zf, open_artifact(layer) as art:
        art.verify()
        assert art.problems == []
        for e in art.entries:
            if e.is_dir:
                continue
            real = zf.read(e.name)
            for limit in (
                None,
                1,
                16,
                64,
                65,
                4096,
                4097,
                65536,
                65537,
                len(real) - 1,
                len(real),
                len(real) + 10,
            ):
                if limit is not None and limit < 0:
                    continue
                got = art.read(e.name, limit)
                assert got == (real if limit is None else real[:limit]), (e.name, limit)


def test_elf_members_are_parsed_as_the_rules_would(layer: Path) -> None:
    with zipfile.ZipFile(layer) as zf, open_artifact(layer) as art:
        art.verify()
        names = _elf_names(layer)
        assert set(art.facts.elf) == set(names)
        for name in names:
            data = zf.read(name)
            kept = art.facts.elf[name]
            try:
                expected: object = read_elf_prefix(lambda n, d=data: d[:n], len(data))  # type: ignore[misc]
            except ELFInvalid as e:
                expected = e
            if isinstance(expected, ELFInvalid):
                assert isinstance(kept, ELFInvalid) and str(kept) == str(expected), name
                continue
            assert kept == expected, name
            assert name.endswith("broken.so") or kept.needed  # type: ignore[union-attr]  # real libraries need libc


def test_text_members_are_scanned_as_the_rules_would(layer: Path) -> None:
    with zipfile.ZipFile(layer) as zf, open_artifact(layer) as art:
        art.verify()
        scanned = art.facts.secrets
        texts = [e.name for e in art.entries if not e.is_dir and credentials.worth_scanning(e.name, e.size)]
        assert set(scanned) == set(texts)
        for name in texts:
            assert scanned[name] == credentials.find_secrets(name, zf.read(name)[: credentials.SCAN_BYTES]), name
        assert [h.kind for h in scanned["python/app/settings.py"]] == ["AWS access key id"]
        assert scanned["python/big.txt"] == []  # past the scan's prefix, as the rule has always read


def test_a_tiny_budget_keeps_heads_only_and_reads_stay_right(
    layer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keptreads, "KEEP_BUDGET", 10_000)
    with zipfile.ZipFile(layer) as zf, open_artifact(layer) as art:
        art.verify()
        init = "python/cryptography/__init__.py"
        assert art.read(init) == zf.read(init)
        assert art.read("python/big.txt", 65536) == zf.read("python/big.txt")[:65536]


def _findings(layer: Path) -> list[tuple[str, str, str]]:
    result = check([], [layer], runtime="python3.12", arch="x86_64")
    return sorted((f.code, f.path, f.message) for f in result.findings)


def test_check_finds_the_same_with_and_without_the_kept_reads(
    layer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_kept = _findings(layer)
    monkeypatch.setattr(keptreads.KeptReads, "keep", lambda self, entry, data, studied: None)
    without = _findings(layer)
    assert with_kept == without
    # The host's libraries say something for python3.12: the comparison is not of two empty lists.
    if sys.version_info[:2] != (3, 12):
        assert any(code == "LP005" for code, _, _ in with_kept), with_kept
    assert any(code == "LP002" and path.endswith("broken.so") for code, path, _ in with_kept), with_kept
    assert any(code == "LP402" and path.endswith("app/settings.py") for code, path, _ in with_kept), with_kept
