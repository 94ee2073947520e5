"""What verification learns of the dependencies' files is kept in the cache (facts/), so a
build that changed only the user's code reads none of them again (issue 14 item 4), and it
finds exactly what a build that learns them afresh finds.

Offline: the dependency is a wheel this test writes, with a real native library (the
`deflate` extension this venv runs on), a text file holding a token of the real format,
and Python modules; uv installs it from a --find-links directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import deflate
import pytest
from lp_helpers import run_lp, write_handler
from wheels import write_wheel

from lambdapack.inspect.credentials import SecretHit
from lambdapack.inspect.filefacts import decode, encode

TARGET = ["--runtime", "python3.12", "--arch", "x86_64", "--no-compile"]
LIBRARY = next(Path(deflate.__file__).parent.glob("_deflate*.so"), None)
TOKEN = "ghp_" + "Zq3RtY8uVw2XkL9mN4bC7dF1gH6jK0pS5aE2"  # made up, of the real format


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    if LIBRARY is None:
        pytest.skip("the deflate extension is not a .so on this host")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "fakedep", "1.0", "cp312-abi3-manylinux_2_17_x86_64", files={
        "fakedep/__init__.py": b"from fakedep import _deflate\n",
        "fakedep/_deflate.abi3.so": LIBRARY.read_bytes(),
        "fakedep/notes.txt": f"deploy with GITHUB_TOKEN={TOKEN}\n".encode(),
        **{f"fakedep/m{i}.py": f"X = {i}\n".encode() for i in range(20)},
    })  # fmt: skip
    (tmp_path / "empty").mkdir()
    (tmp_path / "requirements.txt").write_text("fakedep==1.0\n", encoding="utf-8")
    write_handler(tmp_path / "src", "import fakedep")
    return {"root": tmp_path, "wheels": wheels, "cache": tmp_path / "cache"}


def _build(p: dict[str, Path], n: int, *extra: str, target: list[str] = TARGET) -> list[tuple[str, str, str]]:
    """Build after an edit of the handler (a code-only change); the findings it reports."""
    write_handler(p["root"] / "src", f"import fakedep\nEDIT = {n}")
    r = run_lp(["build", str(p["root"] / "src"), "-r", str(p["root"] / "requirements.txt"), *target,
                "--index-url", str(p["root"] / "empty"), "--find-links", str(p["wheels"]),
                "--cache-dir", str(p["cache"]), "-o", str(p["root"] / f"fn{n}.zip"), "--format", "json", *extra],
               cwd=p["root"])  # fmt: skip
    assert r.returncode == 0, r.explain()
    found: list[dict[str, Any]] = r.json["findings"]
    return sorted((f["code"], f["path"], f["message"]) for f in found)


def _records(p: dict[str, Path]) -> list[Path]:
    return sorted((p["cache"] / "facts").glob("*.facts"))


def test_a_code_only_rebuild_uses_the_kept_facts_and_finds_the_same(project: dict[str, Path]) -> None:
    first = _build(project, 1)
    assert any(code == "LP402" and "notes.txt" in path for code, path, _ in first), first
    records = _records(project)
    assert len(records) == 1
    learnt = decode(records[0].read_bytes())
    assert learnt is not None
    assert "fakedep/_deflate.abi3.so" in learnt.elf and learnt.elf["fakedep/_deflate.abi3.so"].needed  # type: ignore[union-attr]
    assert [h.kind for h in learnt.secrets["fakedep/notes.txt"]] == ["GitHub token"]
    assert "lambda_function.py" not in learnt.heads  # the user's code is always read afresh

    assert _build(project, 2) == first  # from the record
    assert _build(project, 3, "--no-cache") == first  # learnt afresh, nothing kept


def test_the_record_is_what_the_rules_use_and_a_damaged_one_is_a_miss(project: dict[str, Path]) -> None:
    first = _build(project, 1)
    record = _records(project)[0]
    learnt = decode(record.read_bytes())
    assert learnt is not None
    # A fact only the record holds: the next build reports it, so the record is read (and is
    # keyed by these contents: the handler edit does not change the key).
    learnt.secrets["fakedep/__init__.py"] = [SecretHit("AWS access key id", 1, "AKIA…WXYZ")]
    record.write_bytes(encode(learnt))
    planted = _build(project, 2)
    assert any(code == "LP402" and path.endswith("fakedep/__init__.py") for code, path, _ in planted), planted

    raw = bytearray(record.read_bytes())
    raw[-5] ^= 0xFF  # damaged: its checksum no longer matches
    record.write_bytes(bytes(raw))
    assert _build(project, 3) == first
    assert decode(record.read_bytes()) is not None  # learnt again and rewritten


def test_encode_and_decode_keep_every_fact(project: dict[str, Path]) -> None:
    _build(project, 1)
    data = _records(project)[0].read_bytes()
    facts = decode(data)
    assert facts is not None
    assert decode(encode(facts)) == facts
    assert decode(data[:-1]) is None
    assert facts.heads and facts.elf and facts.secrets


def test_with_bytecode_the_sources_facts_are_learnt_beside_the_compilers(project: dict[str, Path]) -> None:
    # EarlyFacts: the staged dependencies' facts are learnt (and kept) while bytecode compiles,
    # as one record; the .pyc the compilers then add are a record of their own.
    from lambdapack.host.interpreters import find_interpreter

    if find_interpreter((3, 12)) is None:
        pytest.skip("no Python 3.12 on this machine to compile bytecode with")
    compiled = ["--runtime", "python3.12", "--arch", "x86_64", "--compile"]
    first = _build(project, 1, target=compiled)
    assert any(code == "LP402" and "notes.txt" in path for code, path, _ in first), first
    records = {r.name: decode(r.read_bytes()) for r in _records(project)}
    assert len(records) == 2, list(records)
    by_kind = sorted(records.values(), key=lambda f: len(f.heads) if f else 0)
    pycs, sources = by_kind
    assert pycs is not None and sources is not None
    assert pycs.heads and all(n.endswith(".pyc") for n in pycs.heads), sorted(pycs.heads)
    assert len(pycs.heads) == 21  # __init__ and m0..m19
    assert not any(n.endswith(".pyc") for n in sources.heads)
    assert [h.kind for h in sources.secrets["fakedep/notes.txt"]] == ["GitHub token"]
    before = {p.name: p.read_bytes() for p in _records(project)}
    assert _build(project, 2, target=compiled) == first  # both records found: nothing learnt again
    assert {p.name: p.read_bytes() for p in _records(project)} == before
    assert _build(project, 3, "--no-cache", target=compiled) == first
