"""OS errors end in one `error:` line naming the path and the operation, one `hint:`,
the documented exit code, no traceback, nothing at the output path and no temp files
left: read-only outputs (found before anything is resolved), full disks at the output
and in the cache, unusable cache locations, a source path past PATH_MAX; and the cache
keeps its cap across builds.

Read-only and full file systems are real: tmpfs mounts (we run as root, for whom
permission bits stop nothing). Where mounting is impossible the test is skipped with
the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lp_helpers import HANG, Run, clean_env, run_lp, silent_index, write_handler

RUNTIME = ["--runtime", "python3.12", "--arch", "x86_64"]
# Cache bookkeeping files that are not entries (the lock files, the running total).
_BOOKKEEPING = {"cache.lock", "size.lock", "size", "interpreters.json"}


@contextlib.contextmanager
def tmpfs(where: Path, *, size: str = "2m", read_only: bool = False) -> Iterator[Path]:
    """A real tmpfs at `where` (read-only or of `size`), unmounted afterwards."""
    if sys.platform != "linux":
        pytest.skip(f"tmpfs mounts need Linux (this is {sys.platform})")
    where.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (need root or CAP_SYS_ADMIN): {r.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def assert_clean_failure(r: Run, code: int, *lines: str) -> None:
    assert r.returncode == code, r.explain()
    assert "Traceback" not in r.stderr, r.explain()
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    hints = [ln for ln in r.stderr.splitlines() if ln.startswith("hint:")]
    assert len(errors) == 1 and len(hints) == 1, r.explain()
    for want in lines:
        assert want in r.stderr, f"{want!r} not in:\n{r.explain()}"


def leftovers(root: Path) -> list[Path]:
    """Temp files of ours anywhere under root: zip partials and the cache's in-flight files."""
    return [p for p in root.rglob("*") if p.is_file()
            and (".partial" in p.name or p.name.startswith((".tmp-", "tmp", ".lambdapack-")))]


def incompressible_src(where: Path, size: int = 4 << 20) -> Path:
    src = write_handler(where)
    (src / "data.bin").write_bytes(os.urandom(size))
    return src


# --- outputs -------------------------------------------------------------------


@pytest.mark.parametrize("which", ["-o", "--layer-output", "--report"])
def test_read_only_output_fails_before_anything_is_resolved(which: str, tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    (tmp_path / "requirements.txt").write_text("six==1.17.0\n", encoding="utf-8")
    ro = tmp_path / "ro"
    target = {"-o": ro / "sub" / "function.zip", "--layer-output": ro / "layer.zip", "--report": ro / "r.html"}[which]
    argv = ["build", str(src), *RUNTIME, "-r", str(tmp_path / "requirements.txt"), "--cache-dir", str(tmp_path / "c")]
    if which == "--layer-output":
        argv += ["--split", "-o", str(tmp_path / "f.zip")]
    elif which == "--report":
        argv += ["-o", str(tmp_path / "f.zip")]
    argv += [which, str(target)]
    with tmpfs(ro, read_only=True), silent_index() as (url, got):
        r = run_lp([*argv, "--index-url", url], timeout=HANG)
        # The index never answers: had uv run first, the build would hang on it (or time out).
        assert got == [], "the index was contacted: the output was not checked first"
    assert_clean_failure(r, 1, f"error: read-only file system while writing the output: {target}",
                         "hint: remount it read-write, or pass another -o")
    assert "index" not in r.stderr.lower()
    assert not (tmp_path / "f.zip").exists()


def test_output_under_a_file_is_an_input_error_before_resolving(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    out = tmp_path / "afile" / "dist" / "f.zip"
    r = run_lp(["build", str(src), *RUNTIME, "-o", str(out), "--no-cache"])
    assert_clean_failure(r, 2, f"error: not a directory while writing the output: {out}")


def test_missing_output_dirs_are_not_left_behind_by_the_check(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    out = tmp_path / "new" / "deeper" / "f.zip"
    r = run_lp(["build", str(src), *RUNTIME, "-o", str(out), "--no-cache", "-r", str(tmp_path / "missing.txt")])
    assert r.returncode == 2, r.explain()
    assert not (tmp_path / "new").exists()  # the writability probe undid what it created


@pytest.mark.parametrize("cache", ["--no-cache", "--cache-dir"])
def test_full_disk_at_the_output_leaves_the_old_zip_and_no_temp_files(cache: str, tmp_path: Path) -> None:
    src = incompressible_src(tmp_path / "src")
    full = tmp_path / "full"
    with tmpfs(full, size="2m"):
        old = full / "function.zip"
        old.write_bytes(b"the old zip")
        argv = ["build", str(src), *RUNTIME, "-o", str(old)]
        argv += ["--no-cache"] if cache == "--no-cache" else ["--cache-dir", str(tmp_path / "c")]
        r = run_lp(argv)
        assert_clean_failure(r, 1, f"error: no space left on the device while writing the output: {old}",
                             "hint: free space on that disk, or pass another -o")
        assert old.read_bytes() == b"the old zip"
        assert sorted(p.name for p in full.iterdir()) == ["function.zip"]
    assert leftovers(tmp_path) == []


def test_full_disk_in_the_cache_is_clear_and_leaves_no_temp_files(tmp_path: Path) -> None:
    src = incompressible_src(tmp_path / "src")
    out = tmp_path / "dist" / "f.zip"
    with tmpfs(tmp_path / "small", size="2m"):
        cache = tmp_path / "small" / "c"
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(out), "--cache-dir", str(cache)])
        assert_clean_failure(r, 1, "error: no space left on the device while writing to the cache: ",
                             str(cache), "hint: free space on that disk, or pass another --cache-dir, or --no-cache")
        assert leftovers(cache) == []
        assert list((cache / "tmp").iterdir()) == []
        # The cache is still usable: the same build with room succeeds (and is a real zip).
        (src / "data.bin").write_bytes(os.urandom(100_000))
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(out), "--cache-dir", str(cache)])
        assert r.returncode == 0, r.explain()
        with zipfile.ZipFile(out) as zf:
            assert zf.testzip() is None
    assert not list(out.parent.glob(".lambdapack-*"))


def test_a_cache_filled_by_the_finished_zip_names_the_cache(tmp_path: Path) -> None:
    """The member blobs fit and the copy of the finished zip into the cache does not (the
    output is on another disk: no hard link): the error names the cache, not the output."""
    src = incompressible_src(tmp_path / "src", size=1200 << 10)
    out = tmp_path / "dist" / "f.zip"
    with tmpfs(tmp_path / "small", size="2m"):
        cache = tmp_path / "small" / "c"
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(out), "--cache-dir", str(cache)])
        assert_clean_failure(r, 1, f"error: no space left on the device while writing to the cache: {cache}",
                             "hint: free space on that disk, or pass another --cache-dir, or --no-cache")
        assert ".partial" not in r.stderr, r.explain()
        assert list((cache / "tmp").iterdir()) == []
        assert not list((cache / "artifacts").glob("*"))
    assert not out.exists() and not list(out.parent.glob(".lambdapack-*"))


def test_a_no_change_rebuild_leaves_no_temp_file_beside_the_output(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    dist = tmp_path / "dist"
    argv = ["build", str(src), *RUNTIME, "-o", str(dist / "f.zip"), "--cache-dir", str(tmp_path / "c")]
    for _ in range(3):
        r = run_lp([*argv, "--format", "json"])
        assert r.returncode == 0, r.explain()
    assert r.json["cached"] is True
    assert sorted(p.name for p in dist.iterdir()) == ["f.zip"]


def test_permission_denied_is_the_users_to_fix(tmp_path: Path) -> None:
    """Root ignores permission bits, so this runs the CLI as nobody (setpriv)."""
    setpriv = shutil.which("setpriv")
    if sys.platform != "linux" or os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run as another user")
    as_nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    if subprocess.run([*as_nobody, sys.executable, "-c", "import lambdapack"], check=False,
                      capture_output=True).returncode != 0:
        pytest.skip("nobody cannot run this interpreter (its files are not world-readable)")
    base = Path(tempfile.mkdtemp(prefix="lp-perm-"))  # not under pytest's 0700 directory
    try:
        base.chmod(0o755)
        src = write_handler(base / "src")
        locked = base / "locked"
        locked.mkdir(mode=0o555)
        locked.chmod(0o555)
        out = base / "out"
        out.mkdir()
        out.chmod(0o777)
        for extra, want in (
            (["-o", str(locked / "f.zip"), "--no-cache"],
             f"error: permission denied while writing the output: {locked / 'f.zip'}"),
            (["-o", str(out / "f.zip"), "--cache-dir", str(locked / "c")],
             f"error: permission denied while creating the cache: {locked / 'c'}"),
        ):
            p = subprocess.run([*as_nobody, sys.executable, "-m", "lambdapack", "build", str(src), *RUNTIME, *extra],
                               env=clean_env({"HOME": str(base)}), cwd=base, capture_output=True, text=True,
                               timeout=120, check=False)
            r = Run(p.args, p.returncode, p.stdout, p.stderr)
            assert_clean_failure(r, 2, want, "hint: fix the permissions of that path, or pass another")
        assert list(locked.iterdir()) == []
        assert list(out.iterdir()) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_full_temporary_directory_without_a_cache(tmp_path: Path) -> None:
    src = incompressible_src(tmp_path / "src")
    out = tmp_path / "dist" / "f.zip"
    with tmpfs(tmp_path / "tmp", size="2m") as small:
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(out), "--no-cache"], env=clean_env({"TMPDIR": str(small)}))
        assert_clean_failure(r, 1, f"error: no space left on the device while using the temporary directory: {small}",
                             "hint: free space on that disk, or point TMPDIR at a writable disk with space")
        assert list(small.iterdir()) == []
    assert not out.exists()
    assert leftovers(tmp_path) == []


# --- the cache location ------------------------------------------------------


def test_cache_dir_that_is_a_file(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    afile = tmp_path / "cachefile"
    afile.write_text("not a cache", encoding="utf-8")
    r = run_lp(["build", str(src), *RUNTIME, "-o", str(tmp_path / "f.zip"), "--cache-dir", str(afile)])
    assert_clean_failure(r, 2, f"error: not a directory while creating the cache: {afile}",
                         "hint: fix the path, or pass another --cache-dir, or --no-cache")
    assert not (tmp_path / "f.zip").exists()
    for action in ("info", "clean", "prune"):
        r = run_lp(["cache", action, "--cache-dir", str(afile)])
        assert_clean_failure(r, 2, f"error: not a directory while creating the cache: {afile}")
    assert afile.read_text(encoding="utf-8") == "not a cache"


def test_lambdapack_cache_dir_in_a_read_only_mount(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    ro = tmp_path / "ro"
    with tmpfs(ro, read_only=True):
        env = clean_env({"LAMBDAPACK_CACHE_DIR": str(ro / "lp")})
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(tmp_path / "f.zip")], env=env)
        assert_clean_failure(r, 1, f"error: read-only file system while creating the cache: {ro / 'lp'}",
                             "hint: remount it read-write, or pass another --cache-dir, or --no-cache")
        r = run_lp(["cache", "prune"], env=env)
        assert_clean_failure(r, 1, "read-only file system while creating the cache")
    assert not (tmp_path / "f.zip").exists()


def test_an_existing_cache_on_a_read_only_mount(tmp_path: Path) -> None:
    """Every mkdir of an existing cache succeeds on a read-only mount; the writability
    probe is what catches it, before the build (not midway)."""
    src = write_handler(tmp_path / "src")
    cache = tmp_path / "c"
    r = run_lp(["build", str(src), *RUNTIME, "-o", str(tmp_path / "f.zip"), "--cache-dir", str(cache)])
    assert r.returncode == 0, r.explain()
    subprocess.run(["mount", "--bind", str(cache), str(cache)], check=False)
    if subprocess.run(["mount", "-o", "remount,ro,bind", str(cache)], check=False).returncode != 0:
        subprocess.run(["umount", str(cache)], check=False)
        pytest.skip("cannot make a read-only bind mount here")
    try:
        (src / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return 2\n", encoding="utf-8")
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(tmp_path / "g.zip"), "--cache-dir", str(cache)])
        assert_clean_failure(r, 1, f"error: read-only file system while creating the cache: {cache}")
        r = run_lp(["cache", "info", "--cache-dir", str(cache)])  # reading needs no writes
        assert r.returncode == 0, r.explain()
    finally:
        subprocess.run(["umount", str(cache)], check=False)
    assert not (tmp_path / "g.zip").exists()


def test_read_only_xdg_cache_home_builds_without_a_cache_and_says_so(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    out = tmp_path / "f.zip"
    ro = tmp_path / "xdg"
    with tmpfs(ro, read_only=True):
        env = clean_env({"XDG_CACHE_HOME": str(ro)}, drop=("LAMBDAPACK_CACHE_DIR",))
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(out), "--format", "json"], env=env)
        assert r.returncode == 0, r.explain()
        warnings = r.json["warnings"]
        assert any(w.startswith(f"read-only file system while creating the cache: {ro / 'lambdapack'}; "
                                "built without a cache") for w in warnings), warnings
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(out)], env=env)
        assert r.returncode == 0, r.explain()
        assert "warning: read-only file system while creating the cache" in r.stdout
        assert "--no-cache to skip it" in r.stdout
    with zipfile.ZipFile(out) as zf:
        assert "lambda_function.py" in zf.namelist()


# --- the source path ---------------------------------------------------------


def test_source_path_longer_than_path_max(tmp_path: Path) -> None:
    long = "a/" * 3000
    r = run_lp(["build", long, *RUNTIME, "-o", str(tmp_path / "f.zip"), "--no-cache"], cwd=tmp_path)
    assert_clean_failure(r, 2, "error: the path is too long for this system while reading the source tree: a/a/",
                         f"({len(long.rstrip('/'))} characters)", "hint: shorten the path, or pass another SRC_DIR")
    assert max(len(ln) for ln in r.stderr.splitlines()) < 300
    assert not (tmp_path / "f.zip").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    afile = tmp_path / "cachefile"
    afile.write_text("x", encoding="utf-8")
    r = run_lp(["--debug", "cache", "info", "--cache-dir", str(afile)])
    assert r.returncode == 2
    assert "Traceback" in r.stderr and "NotADirectoryError" in r.stderr


# --- the cap -------------------------------------------------------------------


def _entry_bytes(cache: Path) -> int:
    """Our own walk: every file but the bookkeeping (lock files, the running total)."""
    return sum(p.stat().st_size for p in cache.rglob("*") if p.is_file() and p.name not in _BOOKKEEPING)


def test_the_cache_stays_under_its_cap_build_after_build(tmp_path: Path) -> None:
    cap = 3 << 20
    cache = tmp_path / "c"
    env = clean_env({"LAMBDAPACK_CACHE_MAX_SIZE": "3M"})
    sizes = []
    for name in ("one", "two", "three"):
        src = incompressible_src(tmp_path / name, size=1 << 20)  # ~2 MiB stored per build: blob + zip
        r = run_lp(["build", str(src), *RUNTIME, "-o", str(tmp_path / f"{name}.zip"), "--cache-dir", str(cache)],
                   env=env)
        assert r.returncode == 0, r.explain()
        sizes.append(_entry_bytes(cache))
    assert all(s <= cap for s in sizes), sizes
    assert sizes[0] > 1 << 20  # the first build was cached, not refused
    # The latest build is what stayed: its no-change rebuild comes from the cache.
    r = run_lp(["build", str(tmp_path / "three"), *RUNTIME, "-o", str(tmp_path / "again.zip"),
                "--cache-dir", str(cache), "--format", "json"], env=env)
    assert r.returncode == 0 and r.json["cached"] is True, r.explain()


def test_parallel_builds_keep_the_cap(tmp_path: Path) -> None:
    cap = 3 << 20
    cache = tmp_path / "c"
    env = clean_env({"LAMBDAPACK_CACHE_MAX_SIZE": "3M"})
    argvs = []
    for name in ("p1", "p2", "p3"):
        src = incompressible_src(tmp_path / name, size=1 << 20)
        argvs.append([sys.executable, "-m", "lambdapack", "build", str(src), *RUNTIME,
                      "-o", str(tmp_path / f"{name}.zip"), "--cache-dir", str(cache), "-q"])
    procs = [subprocess.Popen(a, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for a in argvs]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert _entry_bytes(cache) <= cap


def test_an_invalid_cap_is_a_usage_error(tmp_path: Path) -> None:
    src = write_handler(tmp_path / "src")
    env = clean_env({"LAMBDAPACK_CACHE_MAX_SIZE": "huge"})
    r = run_lp(["build", str(src), *RUNTIME, "-o", str(tmp_path / "f.zip"), "--cache-dir", str(tmp_path / "c")],
               env=env)
    assert_clean_failure(r, 2, "error: LAMBDAPACK_CACHE_MAX_SIZE='huge' is not a size")
    assert not (tmp_path / "f.zip").exists()
