"""Lambda's unzipped limit is checked as soon as the staged sizes are known: a package already
over it without bytecode fails before compiling (LP101), not after. Real inputs, cheap ones: a
`--with-layer` zip of zeros declaring 250 MB, and a source tree whose 1,000 modules would take
seconds to compile; the hints name what the package holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from lp_helpers import assert_no_outputs, make_zero_layer, run_lp

from lambdapack.host.interpreters import find_interpreter

LIMIT = 262_144_000
LAYER = 250_000_000  # the layer alone fits; with the source tree it does not


def _source(root: Path) -> Path:
    """A handler and 1,000 modules of about 16 KB each: ~16 MB, over the limit beside the layer."""
    src = root / "src"
    src.mkdir()
    (src / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    body = "".join(f"def f{i}(x):\n    y = [x * {i} for _ in range(3)]\n    return {{'k{i}': y}}\n\n"
                   for i in range(250))
    for p in range(10):
        pkg = src / f"pkg{p}"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        for m in range(99):
            (pkg / f"m{m}.py").write_text(body)
    return src


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_zero_layer(tmp_path_factory.mktemp("layers") / "zeros.zip", LAYER)


def test_over_the_limit_without_bytecode_fails_before_compiling(layer: Path, tmp_path: Path) -> None:
    if find_interpreter((3, 12)) is None:
        pytest.skip("no CPython 3.12 here: the build would not compile anyway, so nothing to fail before")
    src = _source(tmp_path)
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--with-layer", str(layer),
                "--compile", "--no-cache", "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 1, r.explain()
    assert "Traceback" not in r.stderr
    assert "• staging: " in r.stderr, r.stderr  # the build got as far as the staged sizes
    assert "compiling" not in r.stderr and "verifying" not in r.stderr, r.stderr
    assert "error LP101" in r.stdout and "before any bytecode, so the build stopped before compiling" in r.stdout
    assert "over Lambda's unzipped limit before any bytecode (LP101)" in r.stderr
    # The hints come from what the package holds: no dependencies, so no boto3 and no slimming.
    assert "boto3" not in r.stdout and "--slim aggressive" not in r.stdout
    assert not out.exists()
    assert_no_outputs(tmp_path)


@pytest.mark.network
def test_hints_name_what_the_package_holds(layer: Path, tmp_path: Path) -> None:
    """boto3 in the requirements: the hint says the runtime has it, names the biggest
    distributions with their sizes, and says why a layer does not help."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "lambda_function.py").write_text("import boto3\ndef lambda_handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text("boto3\n")
    big = make_zero_layer(tmp_path / "zeros.zip", LIMIT - 5_000_000)  # boto3 and botocore make it over
    r = run_lp(["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--with-layer", str(big),
                "--no-held-back", "-o", str(tmp_path / "fn.zip"), "--format", "json"], cwd=tmp_path)
    assert r.returncode == 1, r.explain()
    (lp101,) = [f for f in r.json["findings"] if f["code"] == "LP101"]
    fix = lp101["fix"]
    assert "drop boto3, botocore, jmespath and s3transfer (the runtime has them: --exclude-runtime-provided)" in fix, fix
    assert "--slim aggressive" not in fix, fix  # it would save a few KiB of 5 MB over: not worth saying
    assert "the biggest distributions: botocore (" in fix, fix
    assert "a layer does not help" in fix, fix
    assert "compiling" not in r.stderr, r.stderr


def test_a_build_stopped_before_packing_still_shows_where_the_bytes_are(layer: Path, tmp_path: Path) -> None:
    """The size table is printed and --report written from the staged files; their zipped sizes
    are unknown and said to be, never estimated (null in JSON)."""
    src = _source(tmp_path)
    page = tmp_path / "report" / "r.html"
    args = ["build", str(src), "--runtime", "python3.12", "--arch", "x86_64", "--with-layer", str(layer),
            "--no-cache", "-o", str(tmp_path / "fn.zip"), "--report", str(page)]
    r = run_lp(args, cwd=tmp_path)
    assert r.returncode == 1, r.explain()
    assert "error LP101" in r.stdout
    assert "1,001 files, " in r.stdout and "unzipped, not packed (the build stopped before the zip)" in r.stdout
    assert "(your code)" in r.stdout, r.stdout
    assert f"size report written to {page}" in r.stdout
    text = page.read_text(encoding="utf-8")
    assert "fn.zip — lambdapack size report" in text and "not packed" in text and "LP101" in text
    assert not (tmp_path / "fn.zip").exists()
    data = run_lp([*args[:-2], "--format", "json"], cwd=tmp_path).json
    (rep,) = data["size_report"]
    assert rep["packed"] is False and rep["zipped_bytes"] is None and rep["unzipped_bytes"] > 15_000_000
    assert all(d["zipped_bytes"] is None for d in rep["distributions"])
