"""Requirements from pipes (`-r -`, `-r <(...)`), bounded requirement files, bounded `explain`.

Real CLI processes with real pipes; builds that resolve talk to the real PyPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lp_helpers import Run, assert_no_outputs, clean_env, write_handler, zip_names

LP = [sys.executable, "-m", "lambdapack"]
TARGET = ["--runtime", "python3.12", "--arch", "x86_64"]
# No bytecode and no laptop comparison: these tests are about the inputs.
QUICK = ["--no-compile", "--no-held-back"]


def run_piped(args: list[str], stdin: bytes, cwd: Path, env: dict[str, str]) -> Run:
    proc = subprocess.run([*LP, *args], input=stdin, capture_output=True, cwd=cwd, env=env, timeout=300,
                          check=False)
    return Run([*LP, *args], proc.returncode, proc.stdout.decode("utf-8", "replace"),
               proc.stderr.decode("utf-8", "replace"))


def assert_clear_error(r: Run, code: int, *needles: str) -> None:
    assert r.returncode == code, r.explain()
    assert "Traceback" not in r.stderr, r.explain()
    lines = r.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and any(ln.startswith("hint: ") for ln in lines), r.explain()
    for n in needles:
        assert n in errors[0], r.explain()


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    write_handler(tmp_path / "src")
    return tmp_path, clean_env({"LAMBDAPACK_CACHE_DIR": str(tmp_path / "cache")})



@pytest.mark.network
def test_requirements_from_stdin_build_and_key_the_cache_by_content(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    args = ["build", "src", *TARGET, *QUICK, "-r", "-", "-o", "fn.zip"]
    r = run_piped(args, b"six==1.16.0\n", root, env)
    assert r.returncode == 0, r.explain()
    assert "six.py" in zip_names(root / "fn.zip")
    assert "dependencies: standard input [requirements]" in r.stdout
    assert "six 1.16.0" in r.stdout

    again = run_piped(args, b"six==1.16.0\n", root, env)  # same content: the no-change shortcut
    assert again.returncode == 0, again.explain()
    assert "no change: the finished zip comes from the cache" in again.stderr, again.explain()

    other = run_piped(args, b"six==1.17.0\n", root, env)  # new content: never the old zip
    assert other.returncode == 0, other.explain()
    assert "no change" not in other.stderr and "six 1.17.0" in other.stdout, other.explain()
    with zipfile.ZipFile(root / "fn.zip") as zf:
        assert "six-1.17.0.dist-info/METADATA" in zf.namelist()


@pytest.mark.network
@pytest.mark.skipif(sys.platform != "linux" or shutil.which("bash") is None,
                    reason="process substitution <(...) needs bash and /dev/fd (Linux here)")
def test_process_substitution_and_includes_relative_to_the_current_directory(
    project: tuple[Path, dict[str, str]],
) -> None:
    root, env = project
    (root / "base.txt").write_text("six==1.16.0\n", encoding="utf-8")
    # The README's form; the piped text includes base.txt, which is in the current directory.
    cmd = f"{' '.join(LP)} build src {' '.join(TARGET + QUICK)} -o fn.zip -r <(echo '-r base.txt')"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=root, env=env, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "six.py" in zip_names(root / "fn.zip")
    assert "dependencies: /dev/fd/" in proc.stdout

    # The included file is part of the key: changing it rebuilds with the new pin.
    (root / "base.txt").write_text("six==1.17.0\n", encoding="utf-8")
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=root, env=env, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "six-1.17.0.dist-info/METADATA" in zip_names(root / "fn.zip")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("elf", None),  # a real executable (the interpreter itself)
        ("zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
        ("latin1", b"six==1.16.0  # caf\xe9\n"),
        ("nul-in-text", b"six\nfo\0o\n"),
    ],
)
def test_binary_requirements_file_is_a_clear_input_error(
    project: tuple[Path, dict[str, str]], name: str, content: bytes | None
) -> None:
    root, env = project
    path = Path(sys.executable).resolve() if content is None else root / f"{name}.txt"
    if content is not None:
        path.write_bytes(content)
    r = run_piped(["build", "src", *TARGET, *QUICK, "-r", str(path), "-o", "fn.zip"], b"", root, env)
    assert_clear_error(r, 2, f"{path} is not a text requirements file: byte ")
    if name == "nul-in-text":
        assert "byte 6 (line 2; bytes count from 0) is 0x00, a NUL byte" in r.stderr, r.explain()
    assert_no_outputs(root)


def test_binary_and_oversized_stdin_are_clear_input_errors(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    args = ["build", "src", *TARGET, *QUICK, "-r", "-", "-o", "fn.zip"]
    r = run_piped(args, Path(sys.executable).resolve().read_bytes()[:4096], root, env)
    assert_clear_error(r, 2, "standard input is not a text requirements file: byte ")
    r = run_piped(args, b"six\n" * (3 * 1024 * 1024), root, env)  # 12 MiB
    assert_clear_error(r, 2, "standard input is larger than 10 MiB, the limit for a requirements file")
    assert_no_outputs(root)


def test_oversized_requirements_file_is_refused(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    big = root / "big.txt"
    with big.open("wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: refused from its size, never read
    r = run_piped(["build", "src", *TARGET, *QUICK, "-r", str(big), "-o", "fn.zip"], b"", root, env)
    assert_clear_error(r, 2, f"{big} is larger than 10 MiB")
    assert_no_outputs(root)


def test_pyproject_and_lock_from_a_pipe_are_usage_errors(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    for flag, what in (("--pyproject", "pyproject.toml"), ("--lock", "uv.lock")):
        r = run_piped(["build", "src", *TARGET, *QUICK, flag, "-", "-o", "fn.zip"], b"[project]\n", root, env)
        assert_clear_error(r, 2, f"a {what} is read from its project directory")


def _explain_in_child(data: Path, args: list[str]) -> tuple[int, float, int, str]:
    """Run `explain` reading `data` through a real pipe (from `cat`); (exit code, CPU
    seconds, peak RSS in KiB, stdout), measured in a fresh parent so that no earlier child
    counts. CPU time is the work done; wall-clock time would be the machine's load."""
    probe = (
        "import resource, subprocess, sys\n"
        f"feed = subprocess.Popen(['cat', {str(data)!r}], stdout=subprocess.PIPE)\n"
        f"p = subprocess.run({[*LP, 'explain', *args]!r}, stdin=feed.stdout, capture_output=True)\n"
        "feed.stdout.close(); feed.wait()\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(p.returncode, u.ru_utime + u.ru_stime, u.ru_maxrss)\n"
        "sys.stdout.write(p.stdout.decode())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=clean_env(),
                         timeout=600, check=True).stdout
    head, _, rest = out.partition("\n")
    rc, secs, rss = head.split()
    return int(rc), float(secs), int(rss), rest


ERROR_LINE = b"[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'requests'\n"


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("cat") is None, reason="needs cat and resource (POSIX)")
def test_explain_reads_a_bounded_tail_of_large_random_input(tmp_path: Path) -> None:
    # 50 MB of random bytes took 47 s and 1.08 GiB before; an error at the very end is found.
    data = tmp_path / "log.bin"
    with data.open("wb") as f:
        for _ in range(50):
            f.write(os.urandom(1 << 20))
        f.write(b"\n" + ERROR_LINE)
    rc, secs, rss_kib, out = _explain_in_child(data, ["--format", "json"])
    print(f"explain of 50 MB through a pipe: {secs:.2f} s of CPU, {rss_kib // 1024} MiB peak")
    assert rc == 0 and '"code": "EX002"' in out, out
    assert secs < 20, secs
    assert rss_kib < 400 * 1024, rss_kib


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("cat") is None, reason="needs cat and resource (POSIX)")
def test_explain_max_bytes_keeps_the_last_part(tmp_path: Path) -> None:
    data = tmp_path / "log.txt"
    data.write_bytes(ERROR_LINE + b"x" * 200_000 + b"\n")
    rc, _s, _r, _out = _explain_in_child(data, ["--max-bytes", "64K"])
    assert rc == 1  # the error was in the part that was dropped
    rc, _s, _r, out = _explain_in_child(data, ["--max-bytes", "1M"])
    assert rc == 0 and "EX002" in out


def test_explain_max_bytes_must_be_a_size(tmp_path: Path) -> None:
    r = run_piped(["explain", "--max-bytes", "lots", "x"], b"", tmp_path, clean_env())
    assert_clear_error(r, 2, "invalid size 'lots' for --max-bytes")


def test_explain_takes_invalid_utf8_on_stdin(tmp_path: Path) -> None:
    data = b"\xff\xfe\x80 [ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'yaml'\n"
    r = run_piped(["explain"], data + os.urandom(100_000), tmp_path, clean_env())  # a hang times out
    assert r.returncode == 0 and "PyYAML" in r.stdout, r.explain()


def test_a_bad_piped_line_is_named_by_what_the_user_gave(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    # uv rejects this line (our parser leaves options to uv); it read the work copy, not "-".
    r = run_piped(["build", "src", *TARGET, *QUICK, "-r", "-", "-o", "fn.zip", "--index-url",
                   "http://127.0.0.1:9/simple"], b"six==1.16.0\n--no-such-option\n", root, env)
    assert_clear_error(r, 2, "standard input, line 2: invalid requirement")
    assert "piped-requirements" not in r.stderr, r.explain()
    assert_no_outputs(root)
