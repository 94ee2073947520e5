"""Bad inputs: the documented exit code, one `error:` line, no traceback, no zip.

Exit codes (cli.EXIT_CODES): 2 for bad usage or input, 1 for a build that cannot
succeed (no wheel for the target, registry unreachable, verification, limits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from lp_helpers import Run, assert_no_outputs, clean_env, run_lp, write_handler

# uv retries a refused connection for ~10 s by default; one attempt shows the same error.
NO_RETRY = {"UV_HTTP_RETRIES": "0"}


@dataclass(frozen=True)
class Case:
    id: str
    exit_code: int
    runtime: str = "python3.12"
    arch: str = "x86_64"
    # Writes the -r argument into the given directory and returns its path (or None: no -r).
    requirements: Callable[[Path], Path | None] | None = None
    extra_args: tuple[str, ...] = ()
    network: bool = False
    stderr_has: tuple[str, ...] = ()

    def args(self, tmp: Path, out: Path) -> list[str]:
        src = write_handler(tmp / "src")
        argv = ["build", str(src), "--runtime", self.runtime, "--arch", self.arch, "-o", str(out)]
        if self.requirements is not None:
            req = self.requirements(tmp)
            if req is not None:
                argv += ["-r", str(req)]
        return argv + list(self.extra_args)


def _text(name: str, content: str | bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
        return p

    return make


def _directory(tmp: Path) -> Path:
    d = tmp / "reqdir"
    d.mkdir()
    return d


def _missing(tmp: Path) -> Path:
    return tmp / "no-such-requirements.txt"


CASES = [
    Case("unknown-runtime", 2, runtime="python3.99", stderr_has=("python3.99",)),
    Case("unknown-arch", 2, arch="sparc64", stderr_has=("sparc64",)),
    Case("requirements-is-directory", 2, requirements=_directory),
    Case("requirements-missing", 2, requirements=_missing, stderr_has=("no-such-requirements.txt",)),
    Case("requirements-not-utf8", 2, requirements=_text("r.txt", b"six\n\xff\xfe\x00bad\n")),
    Case("requirements-invalid-line", 2, requirements=_text("r.txt", "six >>= 1\n"), stderr_has=("six >>= 1",)),
    Case("nonexistent-package", 2, network=True,
         requirements=_text("r.txt", "lambdapack-no-such-package-7f3a9c\n"),
         stderr_has=("lambdapack-no-such-package-7f3a9c",)),
    Case("conflicting-pins", 2, network=True, requirements=_text("r.txt", "six==1.16.0\nsix==1.17.0\n")),
    Case("hash-mismatch", 2, network=True,
         requirements=_text("r.txt", "six==1.17.0 --hash=sha256:" + "0" * 64 + "\n"), stderr_has=("hash",)),
    # numpy 2.4's aarch64 wheels need glibc 2.27, one above Amazon Linux 2's 2.26 (pandas 3.1.1,
    # the case here before, has a manylinux_2_24 wheel that the exact ceiling now finds).
    Case("no-wheel-numpy-arm64-al2", 1, runtime="python3.11", arch="arm64", network=True,
         requirements=_text("r.txt", "numpy==2.4.6\n"), stderr_has=("numpy", "glibc 2.26")),
    Case("no-wheel-numpy-py311", 1, runtime="python3.11", network=True,
         requirements=_text("r.txt", "numpy==2.5.5\n"), stderr_has=("numpy",)),
    Case("registry-unreachable", 1, network=False,  # talks only to 127.0.0.1:9
         requirements=_text("r.txt", "six\n"), extra_args=("--index-url", "http://127.0.0.1:9/simple")),
]


def _params(cases: list[Case]) -> list[object]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.network] if c.network else []) for c in cases]


def _check_failure(r: Run, case: Case) -> None:
    assert r.returncode == case.exit_code, r.explain()
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.explain()
    error_lines = [ln for ln in r.stderr.splitlines() if "error:" in ln]
    assert error_lines, r.explain()
    for needle in case.stderr_has:
        assert needle in r.stderr, r.explain()


@pytest.mark.parametrize("case", _params(CASES))
def test_bad_input_fails_cleanly(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "out" / "function.zip"
    r = run_lp(case.args(tmp_path, out), cwd=tmp_path, env=clean_env(NO_RETRY))
    _check_failure(r, case)
    assert not out.exists()
    assert_no_outputs(tmp_path)
    assert not (tmp_path / "dist").exists()


# The failures that happen after resolving (and so could have started writing):
# an old zip at the output path is left exactly as it was.
LATE = [c for c in CASES if c.id in ("conflicting-pins", "no-wheel-numpy-py311", "registry-unreachable")]


@pytest.mark.parametrize("case", _params(LATE))
def test_failed_build_keeps_old_zip(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "out" / "function.zip"
    out.parent.mkdir()
    old = b"PK\x05\x06" + b"\0" * 18  # an empty zip: the previous good build
    out.write_bytes(old)
    before = (hashlib.sha256(old).hexdigest(), out.stat().st_mtime_ns, out.stat().st_ino)
    r = run_lp(case.args(tmp_path, out), cwd=tmp_path, env=clean_env(NO_RETRY))
    _check_failure(r, case)
    st = out.stat()
    assert (hashlib.sha256(out.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_ino) == before
    assert_no_outputs(tmp_path, keep=[out])


def test_json_format_failure_still_no_traceback(tmp_path: Path) -> None:
    """--format json with a usage error: exit 2, error on stderr, no traceback."""
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(write_handler(tmp_path / "src")), "--runtime", "python2.7", "--arch", "x86_64",
                "-o", str(out), "--format", "json"], cwd=tmp_path)
    assert r.returncode == 2, r.explain()
    assert "error:" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
