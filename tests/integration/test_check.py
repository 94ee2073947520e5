"""`lambdapack check` on real artifacts: one failing and one clean case per rule.

Every artifact is real: PyPI wheels for the wrong target fetched on purpose with uv
(or pip where uv cannot express the tag), extensions compiled here with gcc/g++,
private keys from ssh-keygen/openssl, bytecode from the real CPython 3.11/3.12, and
hostile zips written byte by byte. Each artifact is built once per module.

The CLI always runs as its own process (`run_lp`, clean environment) so that a
traceback, an exit code or a stray file is seen exactly as a user would see it.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from lp_helpers import Run, clean_env, glibc_needs, python_exe, readelf_path, run_lp

from lambdapack.facts.layout import split_shown

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
NEEDED = FIXTURES / "needed"
CHECK_FIXTURES = FIXTURES / "check"

HANDLER = "def lambda_handler(event, context):\n    return {'ok': True}\n"
LIMIT_UNZIPPED = 262_144_000  # Lambda's 250 MB, as its error text quotes it
LIMIT_DIRECT_UPLOAD = 50 * 1024 * 1024  # 50 MB direct upload (MiB, as AWS counts it)
EPOCH = (1980, 1, 1, 0, 0, 0)


# --- helpers -------------------------------------------------------------------


def uv_target(dest: Path, platform: str, python: str, *pkgs: str) -> Path:
    """`uv pip install --target DEST` for a platform/Python other than this machine's."""
    argv = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--target", str(dest),
            "--python-platform", platform, "--python-version", python, "--only-binary", ":all:", *pkgs]
    p = subprocess.run(argv, env=clean_env(), capture_output=True, text=True, check=False, timeout=600)
    assert p.returncode == 0, f"{argv}\n{p.stdout}\n{p.stderr}"
    return dest


def pip_env() -> dict[str, str]:
    """Like a user's shell with pip defaults: no pip config, no PIP_*, bytecode on."""
    extra = {"PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if os.environ.get("SSL_CERT_FILE"):  # pip ignores SSL_CERT_FILE; behind a TLS proxy it needs the bundle
        extra["PIP_CERT"] = os.environ["SSL_CERT_FILE"]
    return clean_env(extra, drop=("PYTHONDONTWRITEBYTECODE",))


def zinfo(name: str, mode: int = 0o644, *, system: int = 3, is_dir: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, EPOCH)
    info.create_system = system
    kind = stat.S_IFDIR if is_dir else stat.S_IFREG
    info.external_attr = ((kind | mode) << 16) | (0x10 if is_dir else 0)
    info.compress_type = zipfile.ZIP_STORED if is_dir else zipfile.ZIP_DEFLATED
    return info


def make_zip(path: Path, files: Mapping[str, bytes | str], *, mode: int = 0o644) -> Path:
    """A zip of in-memory files, Unix modes `mode`, fixed timestamps."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zinfo(name, mode), data.encode() if isinstance(data, str) else data)
    return path


def zip_tree(path: Path, trees: Iterable[tuple[Path, str]], extra: Mapping[str, bytes | str] | None = None) -> Path:
    """Zip directory trees (each under an arcname prefix) the way `shutil.make_archive` does:
    Python's zipfile, modes from the file system, directory entries included."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, prefix in trees:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for n in sorted(dirnames + filenames):
                    full = Path(dirpath, n)
                    arc = (prefix + full.relative_to(root).as_posix())
                    zf.write(full, arc)
        for name, data in (extra or {}).items():
            zf.writestr(zinfo(name), data.encode() if isinstance(data, str) else data)
    return path


def fn_zip(path: Path, *sites: Path, extra: Mapping[str, bytes | str] | None = None) -> Path:
    """A function zip: `lambda_function.py` at the root plus installed packages at the root."""
    files = {"lambda_function.py": HANDLER, **(extra or {})}
    return zip_tree(path, [(s, "") for s in sites], files)


def lp_check(*args: object, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Run:
    r = run_lp(["check", *map(str, args)], env=env, cwd=cwd)
    assert "Traceback" not in r.stderr, r.explain()
    return r


def check_json(*args: object) -> dict[str, Any]:
    """Run `check --format json`; it must be one of the two verdicts, consistent with the summary."""
    r = lp_check(*args, "--format", "json")
    assert r.returncode in (0, 1), r.explain()
    data = r.json
    assert r.returncode == (1 if data["summary"]["errors"] else 0), r.explain()
    data["_run"] = r
    return data


def codes(data: Mapping[str, Any]) -> set[str]:
    return {f["code"] for f in data["findings"]}


def found(data: Mapping[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["code"] == code]


def errors(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["severity"] == "error"]


def dist_version(site: Path, name: str) -> str:
    (info,) = site.glob(f"{name}-*.dist-info")
    return info.name[len(name) + 1: -len(".dist-info")]


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("check")


@pytest.fixture(scope="module")
def installs(tmp: Path) -> Callable[..., Path]:
    """uv installs for (platform, python, packages), each done once per module."""
    memo: dict[tuple[str, ...], Path] = {}

    def get(platform: str, python: str, *pkgs: str) -> Path:
        key = (platform, python, *pkgs)
        if key not in memo:
            dest = tmp / "site" / "-".join(k.replace(":", "_") for k in key)
            memo[key] = uv_target(dest, platform, python, *pkgs)
        return memo[key]

    return get


# --- LP001-LP006: real wheels for the wrong target ------------------------------


@pytest.mark.network
def test_lp001_macos_pydantic_core(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("aarch64-apple-darwin", "3.12", "pydantic_core")
    data = check_json(fn_zip(tmp / "macos.zip", site), "--runtime", "python3.12", "--arch", "arm64")
    lp001 = found(data, "LP001")
    assert [f["path"] for f in lp001] == ["pydantic_core/_pydantic_core.cpython-312-darwin.so"], data["findings"]
    assert "Mach-O" in lp001[0]["message"]
    assert lp001[0]["distribution"] == f"pydantic_core {dist_version(site, 'pydantic_core')}"
    assert any(f["path"].endswith("-darwin.so") for f in found(data, "LP005"))  # macOS name, too
    assert data["_run"].returncode == 1


@pytest.mark.network
def test_lp001_windows_pyd(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-pc-windows-msvc", "3.12", "orjson")
    data = check_json(fn_zip(tmp / "win.zip", site), "--runtime", "python3.12", "--arch", "x86_64")
    lp001 = found(data, "LP001")
    assert [f["path"] for f in lp001] == ["orjson/orjson.cp312-win_amd64.pyd"], data["findings"]
    assert "PE (Windows)" in lp001[0]["message"]
    assert any(f["path"].endswith(".pyd") for f in found(data, "LP005"))


@pytest.mark.network
def test_lp002_aarch64_orjson_in_x86_64_and_clean_on_arm64(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("aarch64-manylinux_2_17", "3.12", "orjson")
    z = fn_zip(tmp / "orjson-arm.zip", site)
    bad = check_json(z, "--runtime", "python3.12", "--arch", "x86_64")
    (lp002,) = found(bad, "LP002")
    assert lp002["path"] == "orjson/orjson.cpython-312-aarch64-linux-gnu.so"
    assert "aarch64" in lp002["message"] and "x86_64" in lp002["message"]
    assert lp002["distribution"] == f"orjson {dist_version(site, 'orjson')}"
    good = check_json(z, "--runtime", "python3.12", "--arch", "arm64")
    assert errors(good) == [], good["findings"]
    assert good["_run"].returncode == 0


@pytest.mark.network
def test_lp003_manylinux_2_28_cryptography_on_python311(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-manylinux_2_28", "3.11", "cryptography")
    rust = site / "cryptography" / "hazmat" / "bindings" / "_rust.abi3.so"
    readelf = readelf_path()
    if readelf is not None:  # the oracle: the wheel really needs glibc 2.28
        assert max(glibc_needs(rust, readelf)) == (2, 28)
    data = check_json(fn_zip(tmp / "crypto228.zip", site), "--runtime", "python3.11", "--arch", "x86_64")
    lp003 = [f for f in found(data, "LP003") if f["path"] == "cryptography/hazmat/bindings/_rust.abi3.so"]
    assert len(lp003) == 1, data["findings"]
    assert "GLIBC_2.28" in lp003[0]["message"] and "2.26" in lp003[0]["message"]
    assert lp003[0]["distribution"] == f"cryptography {dist_version(site, 'cryptography')}"


@pytest.mark.network
def test_lp003_clean_with_manylinux2014_cryptography(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-manylinux_2_17", "3.11", "cryptography")
    data = check_json(fn_zip(tmp / "crypto217.zip", site), "--runtime", "python3.11", "--arch", "x86_64")
    assert errors(data) == [], data["findings"]


@pytest.mark.network
def test_lp005_cp313_extension_in_python312(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-manylinux_2_17", "3.13", "orjson")
    data = check_json(fn_zip(tmp / "orjson313.zip", site), "--runtime", "python3.12", "--arch", "x86_64")
    (lp005,) = found(data, "LP005")
    assert lp005["path"] == "orjson/orjson.cpython-313-x86_64-linux-gnu.so"
    assert "3.13" in lp005["message"] and "3.12" in lp005["message"]


@pytest.mark.network
def test_lp005_clean_for_the_right_python(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-manylinux_2_17", "3.12", "orjson")
    data = check_json(fn_zip(tmp / "orjson312.zip", site), "--runtime", "python3.12", "--arch", "x86_64")
    assert data["findings"] == []
    assert data["_run"].returncode == 0


@pytest.mark.network
def test_lp005_musl_orjson(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-unknown-linux-musl", "3.12", "orjson")
    data = check_json(fn_zip(tmp / "musl.zip", site), "--runtime", "python3.12", "--arch", "x86_64")
    (lp005,) = found(data, "LP005")
    assert lp005["path"].endswith("-x86_64-linux-musl.so")
    assert "musl" in lp005["message"]


@pytest.mark.network
def test_lp005_free_threaded_cp313t(tmp: Path) -> None:
    # uv 0.13 rejects `--python-version 3.13t`; pip can fetch a cp313t wheel by its ABI tag.
    probe = subprocess.run([sys.executable, "-m", "uv", "pip", "install", "--dry-run", "--target", str(tmp / "ftp"),
                            "--python-platform", "x86_64-manylinux_2_17", "--python-version", "3.13t",
                            "--only-binary", ":all:", "markupsafe"], env=clean_env(), capture_output=True, text=True,
                           check=False)
    dl = tmp / "ft-wheels"
    p = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--platform", "manylinux_2_17_x86_64", "--python-version", "3.13", "--implementation", "cp",
                        "--abi", "cp313t", "-d", str(dl), "markupsafe"],
                       env=pip_env(), capture_output=True, text=True, check=False, timeout=300)
    if p.returncode != 0:
        pytest.skip(f"no cp313t wheel could be fetched (uv: {probe.stderr.strip()[:120]}; pip: {p.stderr[-300:]})")
    (whl,) = dl.glob("*.whl")
    site = tmp / "ft-site"
    with zipfile.ZipFile(whl) as zf:
        zf.extractall(site)
    (so,) = site.glob("markupsafe/_speedups.cpython-313t-*.so")
    data = check_json(fn_zip(tmp / "ft.zip", site), "--runtime", "python3.13", "--arch", "x86_64")
    lp005 = [f for f in found(data, "LP005") if f["path"] == f"markupsafe/{so.name}"]
    assert len(lp005) == 1, data["findings"]
    assert "free-threaded" in lp005[0]["message"]


@pytest.mark.network
def test_lp008_truncated_real_extension(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-manylinux_2_17", "3.12", "orjson")
    (so,) = (site / "orjson").glob("*.so")
    head = so.read_bytes()[:200]  # a download cut short: a valid ELF header, nothing behind it
    data = check_json(make_zip(tmp / "trunc-elf.zip", {"lambda_function.py": HANDLER, f"orjson/{so.name}": head}),
                      "--runtime", "python3.12", "--arch", "x86_64")
    # The loader refuses it, so it is an error (exit 1), said once (not also as LP006).
    assert data["_run"].returncode == 1
    (lp008,) = found(data, "LP008")
    assert (lp008["path"], lp008["severity"]) == (f"orjson/{so.name}", "error")
    assert "truncated: the ELF header says program headers end at byte" in lp008["message"]
    assert not found(data, "LP006")


# --- LP004: C++ extensions compiled here -----------------------------------------

CXX_3_4_29 = """#include <charconv>
extern "C" int ext_fmt(double x, char* buf, int n) { auto r = std::to_chars(buf, buf + n, x); return (int)(r.ptr - buf); }
"""  # std::to_chars(double): GLIBCXX_3.4.29 (GCC 11)
CXX_3_4_30 = """#include <condition_variable>
#include <mutex>
static std::mutex m; static std::condition_variable cv; static bool ready = false;
extern "C" void ext_wait(void) { std::unique_lock<std::mutex> lk(m); while (!ready) cv.wait(lk); }
"""  # std::condition_variable::wait: GLIBCXX_3.4.30 (GCC 12)


def _cxx_versions(so: Path) -> set[str]:
    out = subprocess.run(["readelf", "-V", "-W", str(so)], capture_output=True, text=True, check=True,
                         env=clean_env({"LC_ALL": "C"})).stdout
    return set(re.findall(r"Name:\s*(GLIBCXX_[\d.]+)", out))


@pytest.fixture(scope="module")
def cxx_zips(tmp: Path) -> dict[str, Path]:
    gxx = shutil.which("g++")
    if gxx is None or readelf_path() is None or os.uname().machine != "x86_64":
        pytest.skip("needs g++ and readelf on x86_64")
    out: dict[str, Path] = {}
    for label, src, want in (("29", CXX_3_4_29, "GLIBCXX_3.4.29"), ("30", CXX_3_4_30, "GLIBCXX_3.4.30")):
        d = tmp / f"cxx{label}"
        d.mkdir()
        (d / "ext.cpp").write_text(src)
        so = d / "_fmt.abi3.so"
        subprocess.run([gxx, "-shared", "-fPIC", "-O2", "-std=c++17", "-o", str(so), str(d / "ext.cpp")], check=True)
        vers = _cxx_versions(so)
        if want not in vers:
            pytest.skip(f"this g++ did not produce {want} (got {sorted(vers)})")
        out[label] = make_zip(tmp / f"cxx{label}.zip", {"lambda_function.py": HANDLER,
                                                        "fmtext/__init__.py": "", "fmtext/_fmt.abi3.so": so.read_bytes()})
    return out


def test_lp004_glibcxx_3_4_29_on_python311(cxx_zips: dict[str, Path]) -> None:
    data = check_json(cxx_zips["29"], "--runtime", "python3.11", "--arch", "x86_64")
    (lp004,) = found(data, "LP004")
    assert lp004["path"] == "fmtext/_fmt.abi3.so"
    assert "GLIBCXX_3.4.29" in lp004["message"] and "3.4.24" in lp004["message"]
    assert lp004["distribution"] == "fmtext"  # no RECORD: named after its top-level folder


def test_lp004_glibcxx_3_4_29_clean_on_python312(cxx_zips: dict[str, Path]) -> None:
    data = check_json(cxx_zips["29"], "--runtime", "python3.12", "--arch", "x86_64")
    assert data["findings"] == []


def test_lp004_glibcxx_3_4_30_on_python312(cxx_zips: dict[str, Path]) -> None:
    data = check_json(cxx_zips["30"], "--runtime", "python3.12", "--arch", "x86_64")
    (lp004,) = found(data, "LP004")
    assert "GLIBCXX_3.4.30" in lp004["message"] and "3.4.29" in lp004["message"]


# --- LP007: DT_NEEDED resolution (the colleague's ELF fixtures) ---------------------


def _needed(name: str) -> bytes:
    return (NEEDED / name).read_bytes()


@pytest.mark.parametrize(("files", "bad"), [
    pytest.param({"foo/_ext.abi3.so": "ext_needs_foo.so"}, True, id="not-bundled"),
    pytest.param({"foo/_ext.abi3.so": "ext_runpath_origin.so", "foo.libs/libfoo.so.1": "libfoo.so.1"}, False,
                 id="auditwheel-runpath"),
    pytest.param({"foo/_ext.abi3.so": "ext_rpath_origin.so", "foo.libs/libfoo.so.1": "libfoo.so.1"}, False,
                 id="auditwheel-rpath"),
    pytest.param({"foo/_ext.abi3.so": "ext_runpath_origin.so", "libs/libfoo.so.1": "libfoo.so.1"}, True,
                 id="bundled-elsewhere"),
    pytest.param({"foo/_ext.abi3.so": "ext_needs_foo.so", "lib/libfoo.so.1": "libfoo.so.1"}, False,
                 id="function-lib-dir"),
    pytest.param({"foo/_ext.abi3.so": "ext_libc_only.so"}, None, id="system-libs-only"),
])
def test_lp007_needed_libraries(tmp: Path, files: dict[str, str], bad: bool | None) -> None:
    content: dict[str, bytes | str] = {"lambda_function.py": HANDLER, "foo/__init__.py": ""}
    content.update({arc: _needed(src) for arc, src in files.items()})
    z = make_zip(tmp / f"lp007-{len(list(tmp.iterdir()))}.zip", content)
    data = check_json(z, "--runtime", "python3.12", "--arch", "x86_64")
    lp007 = found(data, "LP007")
    if bad:
        assert [(f["path"], f["severity"]) for f in lp007] == [("foo/_ext.abi3.so", "error")], data["findings"]
        assert "libfoo.so.1" in lp007[0]["message"]
    elif bad is None:
        # libm/libpthread/libc are on Amazon Linux; the fixture was linked on glibc 2.36 (GLIBC_2.35).
        assert codes(data) == {"LP003"}, data["findings"]
    else:
        assert data["findings"] == []


def test_lp007_library_in_a_layer_lib_dir(tmp: Path) -> None:
    fn = make_zip(tmp / "lp007-fn.zip", {"lambda_function.py": HANDLER, "foo/__init__.py": "",
                                         "foo/_ext.abi3.so": _needed("ext_needs_foo.so")})
    layer = make_zip(tmp / "lp007-layer.zip", {"lib/libfoo.so.1": _needed("libfoo.so.1")})
    assert found(check_json(fn, "--runtime", "python3.12", "--arch", "x86_64"), "LP007")
    data = check_json(fn, "--layer", layer, "--runtime", "python3.12", "--arch", "x86_64")
    assert data["findings"] == []


# --- LP201/LP202: layer layout ---------------------------------------------------

FN_ONLY = {"lambda_function.py": HANDLER}


@pytest.fixture(scope="module")
def fn_plain(tmp: Path) -> Path:
    return make_zip(tmp / "plain-fn.zip", FN_ONLY)


def test_lp201_packages_at_layer_root(tmp: Path, fn_plain: Path) -> None:
    layer = make_zip(tmp / "root-layer.zip", {"mypkg/__init__.py": "X = 1\n", "helpers.py": "Y = 2\n"})
    data = check_json(fn_plain, "--layer", layer, "--runtime", "python3.12", "--arch", "x86_64")
    (lp201,) = found(data, "LP201")
    assert lp201["path"].startswith("layer 1 (root-layer.zip)")
    assert "helpers.py" in lp201["message"] and "mypkg" in lp201["message"]


def test_lp201_clean_python_folder(tmp: Path, fn_plain: Path) -> None:
    layer = make_zip(tmp / "py-layer.zip", {"python/mypkg/__init__.py": "X = 1\n", "python/helpers.py": "Y = 2\n"})
    data = check_json(fn_plain, "--layer", layer, "--runtime", "python3.12", "--arch", "x86_64")
    assert data["findings"] == []


def test_a_layers_archive_problems_are_named_with_the_layer(tmp: Path, fn_plain: Path) -> None:
    # The layer's own archive findings (LP3xx) carry the prefix every other layer finding
    # has, so a reader (and split_shown, for smoke and --allow-secret) knows which zip it is.
    good = make_zip(tmp / "ok-layer.zip", {"python/ok.py": "X = 1\n"})
    bad = tmp / "damaged-layer.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(zinfo("python/pkg\\mod.py"), "X = 1\n")
        stored = zinfo("python/data.py")
        stored.compress_type = zipfile.ZIP_STORED
        zf.writestr(stored, "DATA = 2\n")
    raw = bad.read_bytes()
    bad.write_bytes(raw.replace(b"DATA = 2", b"DATA = 3", 1))  # the CRC-32 no longer matches
    data = check_json(fn_plain, "--layer", good, "--layer", bad, "--runtime", "python3.12", "--arch", "x86_64")
    shown = {(f["code"], f["path"]) for f in data["findings"]}
    assert ("LP302", "layer 2 (damaged-layer.zip): python/pkg\\mod.py") in shown, shown
    assert ("LP307", "layer 2 (damaged-layer.zip): python/data.py") in shown, shown
    assert all(path.startswith("layer 2 (damaged-layer.zip): ") for code, path in shown if code.startswith("LP3"))
    assert split_shown("layer 2 (damaged-layer.zip): python/data.py") == ("layer 2 (damaged-layer.zip)",
                                                                           "python/data.py")


def test_an_unreadable_layer_is_named_with_the_layer(tmp: Path, fn_plain: Path) -> None:
    good = make_zip(tmp / "ok-layer2.zip", {"python/ok.py": "X = 1\n"})
    broken = tmp / "broken-layer.zip"
    broken.write_bytes(b"not a zip at all")
    r = lp_check(fn_plain, "--layer", good, "--layer", broken, "--runtime", "python3.12", "--arch", "x86_64",
                 "--format", "json")
    assert r.returncode == 2 and r.json["error"]["message"].startswith("layer 2 (broken-layer.zip): "), r.explain()
    first = r.stderr.splitlines()[0]
    assert first.startswith("error: layer 2 (broken-layer.zip): ") and "neither a zip" in first, r.explain()


@pytest.mark.parametrize(("layer_py", "runtime", "bad"), [
    ("3.11", "python3.12", True), ("3.12", "python3.12", False), ("3.12", "python3.11", True)])
def test_lp202_site_packages_version(tmp: Path, fn_plain: Path, layer_py: str, runtime: str, bad: bool) -> None:
    layer = make_zip(tmp / f"sp{layer_py}-{runtime}.zip",
                     {f"python/lib/python{layer_py}/site-packages/mypkg/__init__.py": "X = 1\n"})
    data = check_json(fn_plain, "--layer", layer, "--runtime", runtime, "--arch", "x86_64")
    if bad:
        (lp202,) = found(data, "LP202")
        assert f"python{layer_py}" in lp202["message"] and runtime in lp202["message"]
    else:
        assert data["findings"] == []


# --- LP203/LP204: the handler ----------------------------------------------------


@pytest.mark.parametrize(("files", "handler", "code"), [
    pytest.param(FN_ONLY, "lambda_function.lambda_handler", None, id="clean"),
    pytest.param(FN_ONLY, "app.handler", "LP203", id="module-missing"),
    pytest.param({"src/lambda_function.py": HANDLER}, "lambda_function.lambda_handler", "LP203", id="in-subfolder"),
    pytest.param({"src/__init__.py": "", "src/app.py": HANDLER}, "src.app.lambda_handler", None, id="dotted-package"),
    pytest.param(FN_ONLY, "lambda_function.handler", "LP204", id="function-missing"),
    pytest.param({"app.py": "def other():\n    pass\n"}, "app.handler", "LP204", id="other-function"),
    pytest.param({"app.py": "def handler(event, context:\n"}, "app.handler", "LP204", id="syntax-error"),
    pytest.param({"app.py": "from impl import handler\n", "impl.py": HANDLER}, "app.handler", None,
                 id="imported-name"),
    pytest.param({"app.py": "try:\n    import x\n    def handler(e, c): pass\nexcept ImportError:\n    handler = None\n"},
                 "app.handler", None, id="conditional"),
])
def test_lp203_lp204_handler(tmp: Path, files: dict[str, str], handler: str, code: str | None) -> None:
    z = make_zip(tmp / f"handler-{abs(hash((handler, tuple(files))))}.zip", files)
    data = check_json(z, "--handler", handler, "--runtime", "python3.12", "--arch", "x86_64")
    got = codes(data) & {"LP203", "LP204"}
    assert got == ({code} if code else set()), data["findings"]
    if code == "LP203" and "src/lambda_function.py" in files:
        assert "src" in found(data, "LP203")[0]["message"]  # says what /var/task holds


def test_handler_in_a_layer_is_found(tmp: Path) -> None:
    fn = make_zip(tmp / "lib-only-fn.zip", {"mylib/__init__.py": ""})
    layer = make_zip(tmp / "handler-layer.zip", {"python/app.py": HANDLER})
    data = check_json(fn, "--layer", layer, "--handler", "app.lambda_handler", "--runtime", "python3.12",
                      "--arch", "x86_64")
    assert data["findings"] == []
    data = check_json(fn, "--layer", layer, "--handler", "app.missing", "--runtime", "python3.12", "--arch", "x86_64")
    (lp204,) = found(data, "LP204")
    assert "layer 1" in lp204["path"]


# --- LP205/LP206/LP207: shadowing -------------------------------------------------


def test_lp205_same_module_in_function_and_layer(tmp: Path) -> None:
    fn = make_zip(tmp / "shadow-fn.zip", {"lambda_function.py": HANDLER, "mypkg/__init__.py": "V = 1\n"})
    layer = make_zip(tmp / "shadow-layer.zip", {"python/mypkg/__init__.py": "V = 2\n", "python/other.py": ""})
    data = check_json(fn, "--layer", layer, "--runtime", "python3.12", "--arch", "x86_64")
    (lp205,) = found(data, "LP205")
    assert lp205["path"] == "mypkg" and lp205["severity"] == "warning"
    clean = make_zip(tmp / "noshadow-layer.zip", {"python/otherpkg/__init__.py": ""})
    assert check_json(fn, "--layer", clean, "--runtime", "python3.12", "--arch", "x86_64")["findings"] == []


@pytest.mark.network
def test_lp206_boto3_bundled_is_info(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-manylinux_2_17", "3.12", "boto3")
    data = check_json(fn_zip(tmp / "boto3.zip", site), "--runtime", "python3.12", "--arch", "x86_64")
    lp206 = found(data, "LP206")
    assert {f["path"] for f in lp206} >= {"boto3", "botocore"}, data["findings"]
    assert {f["severity"] for f in lp206} == {"info"}
    boto = next(f for f in lp206 if f["path"] == "boto3")
    assert boto["distribution"] == f"boto3 {dist_version(site, 'boto3')}"
    assert data["_run"].returncode == 0  # info is not an error


@pytest.mark.network
def test_lp206_clean_without_sdk(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-manylinux_2_17", "3.12", "requests")
    data = check_json(fn_zip(tmp / "requests.zip", site), "--runtime", "python3.12", "--arch", "x86_64")
    assert "LP206" not in codes(data)
    assert "LP402" not in codes(data)  # certifi's cacert.pem is public


def test_lp207_two_layers_same_file(tmp: Path, fn_plain: Path) -> None:
    a = make_zip(tmp / "la.zip", {"python/shared.py": "A = 1\n", "python/a_only.py": ""})
    b = make_zip(tmp / "lb.zip", {"python/shared.py": "B = 1\n", "python/b_only.py": ""})
    data = check_json(fn_plain, "--layer", a, "--layer", b, "--runtime", "python3.12", "--arch", "x86_64")
    (lp207,) = found(data, "LP207")
    assert lp207["path"] == "layer 2 (lb.zip): python/shared.py"
    assert "layer 2 (lb.zip)" in lp207["message"] and "layer 1 (la.zip)" in lp207["message"]
    c = make_zip(tmp / "lc.zip", {"python/c_only.py": ""})
    assert check_json(fn_plain, "--layer", a, "--layer", c, "--runtime", "python3.12",
                      "--arch", "x86_64")["findings"] == []


# --- LP101-LP103: sizes ---------------------------------------------------------


def _sparse_big_layer(path: Path, size: int) -> Path:
    """A layer declaring `size` bytes: 1 MB blocks of 2% random + zeros (~50:1, under the
    bomb ratio, so only the size rule speaks). One random block reused: cheap to write."""
    noise = os.urandom(20_000)
    block = noise + b"\0" * ((1 << 20) - len(noise))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open(zinfo("python/data.bin"), "w") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return path


def test_lp101_over_250_mb_unzipped(tmp: Path, fn_plain: Path) -> None:
    layer = _sparse_big_layer(tmp / "big-layer.zip", LIMIT_UNZIPPED + 1_000_000)
    try:
        data = check_json(fn_plain, "--layer", layer, "--runtime", "python3.12", "--arch", "x86_64")
    finally:
        layer.unlink()
    (lp101,) = found(data, "LP101")
    assert "262,144,000" in lp101["message"]
    assert codes(data) == {"LP101"}, data["findings"]  # not mistaken for a bomb


def test_lp101_just_under_the_limit(tmp: Path, fn_plain: Path) -> None:
    layer = _sparse_big_layer(tmp / "under-layer.zip", LIMIT_UNZIPPED - 10_000)
    try:
        data = check_json(fn_plain, "--layer", layer, "--runtime", "python3.12", "--arch", "x86_64")
    finally:
        layer.unlink()
    assert data["findings"] == []


def test_lp102_zip_over_50_mb(tmp: Path) -> None:
    big = tmp / "random-fn.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(zinfo("lambda_function.py"), HANDLER)
        info = zinfo("data/random.bin")
        info.compress_type = zipfile.ZIP_STORED
        with zf.open(info, "w") as f:
            for _ in range(53):
                f.write(os.urandom(1_000_000))
    try:
        assert big.stat().st_size > LIMIT_DIRECT_UPLOAD
        data = check_json(big, "--runtime", "python3.12", "--arch", "x86_64")
    finally:
        big.unlink()
    (lp102,) = found(data, "LP102")
    assert lp102["severity"] == "warning" and lp102["path"] == str(big)
    assert codes(data) == {"LP102"}


def test_lp102_clean_small_zip(fn_plain: Path) -> None:
    assert check_json(fn_plain, "--runtime", "python3.12", "--arch", "x86_64")["findings"] == []


@pytest.mark.parametrize("n", [5, 6])
def test_lp103_layer_count(tmp: Path, fn_plain: Path, n: int) -> None:
    layers = [make_zip(tmp / f"tiny{i}.zip", {f"python/tiny{i}.py": ""}) for i in range(n)]
    args: list[object] = [fn_plain]
    for layer in layers:
        args += ["--layer", layer]
    data = check_json(*args, "--runtime", "python3.12", "--arch", "x86_64")
    if n > 5:
        (lp103,) = found(data, "LP103")
        assert "6 layers" in lp103["message"]
    else:
        assert data["findings"] == []


# --- LP401: permissions ------------------------------------------------------------


def test_lp401_private_file_and_directory(tmp: Path) -> None:
    z = tmp / "perm.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zinfo("lambda_function.py", 0o644), HANDLER)
        zf.writestr(zinfo("secretdir/", 0o700, is_dir=True), b"")
        zf.writestr(zinfo("secretdir/mod.py", 0o644), "")
        zf.writestr(zinfo("config.py", 0o600), "X = 1\n")
    data = check_json(z, "--runtime", "python3.12", "--arch", "x86_64")
    paths = {f["path"]: f for f in found(data, "LP401")}
    assert "config.py" in paths and "0600" in paths["config.py"]["message"]
    assert any(p.endswith("secretdir") for p in paths), paths
    assert len(paths) == 2


def test_lp401_clean_modes(tmp: Path) -> None:
    z = tmp / "perm-ok.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zinfo("lambda_function.py", 0o644), HANDLER)
        zf.writestr(zinfo("pkg/", 0o755, is_dir=True), b"")
        zf.writestr(zinfo("pkg/tool", 0o755), "#!/bin/sh\n")
    assert check_json(z, "--runtime", "python3.12", "--arch", "x86_64")["findings"] == []


def test_lp401_windows_zip_has_no_modes(tmp: Path) -> None:
    z = tmp / "perm-win.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zinfo("lambda_function.py", 0o600, system=0), HANDLER)
        zf.writestr(zinfo("pkg/", 0o700, system=0, is_dir=True), b"")
    assert "LP401" not in codes(check_json(z, "--runtime", "python3.12", "--arch", "x86_64"))


def test_lp401_directory_artifact(tmp: Path) -> None:
    d = tmp / "permdir"
    d.mkdir()
    (d / "lambda_function.py").write_text(HANDLER)
    (d / "private.py").write_text("")
    (d / "private.py").chmod(0o600)
    data = check_json(d, "--runtime", "python3.12", "--arch", "x86_64")
    assert [f["path"] for f in found(data, "LP401")] == ["private.py"]


# --- LP402: secrets ------------------------------------------------------------------


@pytest.fixture(scope="module")
def private_keys(tmp: Path) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    if shutil.which("ssh-keygen"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(tmp / "id_ed")],
                       check=True, capture_output=True)
        keys["ssh"] = (tmp / "id_ed").read_bytes()
    if shutil.which("openssl"):
        keys["openssl"] = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], check=True,
                                         capture_output=True).stdout
    if not keys:
        pytest.skip("neither ssh-keygen nor openssl is available")
    return keys


def test_lp402_secrets(tmp: Path, private_keys: dict[str, bytes]) -> None:
    key = private_keys.get("ssh") or private_keys["openssl"]
    files: dict[str, bytes | str] = {
        "lambda_function.py": HANDLER,
        ".env": "DB_PASSWORD=hunter2\n",
        ".aws/credentials": "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n",
        "id_rsa": key,
        ".git/config": "[core]\n\trepositoryformatversion = 0\n",
        ".git/HEAD": "ref: refs/heads/main\n",
    }
    if "openssl" in private_keys:
        files["certs/server.pem"] = private_keys["openssl"]
    data = check_json(make_zip(tmp / "secrets.zip", files), "--runtime", "python3.12", "--arch", "x86_64")
    lp402 = {f["path"]: f["severity"] for f in found(data, "LP402")}
    want = {".env": "error", ".aws/credentials": "error", "id_rsa": "error", ".git/": "warning"}
    if "openssl" in private_keys:
        want["certs/server.pem"] = "error"
    assert lp402 == want, data["findings"]


@pytest.mark.network
def test_lp402_clean_public_certs_and_examples(installs: Callable[..., Path], tmp: Path) -> None:
    site = installs("x86_64-manylinux_2_17", "3.12", "certifi")
    assert (site / "certifi" / "cacert.pem").is_file()
    z = fn_zip(tmp / "certifi.zip", site, extra={".env.example": "DB_PASSWORD=\n", "README.md": "hi"})
    data = check_json(z, "--runtime", "python3.12", "--arch", "x86_64")
    assert data["findings"] == []


# --- LP403/LP404: bytecode -------------------------------------------------------


@pytest.fixture(scope="module")
def pyc_zips(tmp: Path) -> dict[str, Path]:
    """The same package compiled by real CPythons, zipped with its __pycache__."""
    out: dict[str, Path] = {}
    for minor, modes in ((11, ("timestamp",)), (12, ("timestamp", "unchecked-hash"))):
        exe = python_exe(minor)
        if exe is None:
            continue
        for mode in modes:
            src = tmp / f"pyc{minor}-{mode}"
            (src / "mypkg").mkdir(parents=True)
            (src / "lambda_function.py").write_text("import mypkg\n" + HANDLER)
            (src / "mypkg" / "__init__.py").write_text("from .mod import f\n")
            (src / "mypkg" / "mod.py").write_text("def f():\n    return 1\n")
            subprocess.run([exe, "-m", "compileall", "-q", "--invalidation-mode", mode, str(src / "mypkg")],
                           check=True, env=clean_env())
            assert list((src / "mypkg" / "__pycache__").glob(f"*.cpython-3{minor}.pyc"))
            out[f"{minor}-{mode}"] = zip_tree(tmp / f"pyc{minor}-{mode}.zip", [(src, "")])
    return out


def test_lp403_cpython311_bytecode_checked_as_312(pyc_zips: dict[str, Path]) -> None:
    if "11-timestamp" not in pyc_zips:
        pytest.skip("no CPython 3.11 on this machine")
    data = check_json(pyc_zips["11-timestamp"], "--runtime", "python3.12", "--arch", "x86_64")
    (lp403,) = found(data, "LP403")
    assert lp403["path"] == "mypkg" and "cpython-311" in lp403["message"] and "2 .pyc" in lp403["message"]
    assert "LP404" not in codes(data)  # foreign bytecode is never judged for freshness


def test_lp403_clean_and_lp404_for_the_right_version(pyc_zips: dict[str, Path]) -> None:
    if "12-timestamp" not in pyc_zips:
        pytest.skip("no CPython 3.12 on this machine")
    data = check_json(pyc_zips["12-timestamp"], "--runtime", "python3.12", "--arch", "x86_64")
    assert "LP403" not in codes(data)
    (lp404,) = found(data, "LP404")
    assert lp404["path"] == "mypkg" and lp404["severity"] == "warning" and "2 timestamp" in lp404["message"]
    assert data["_run"].returncode == 0


def test_lp404_clean_for_unchecked_hash(pyc_zips: dict[str, Path]) -> None:
    if "12-unchecked-hash" not in pyc_zips:
        pytest.skip("no CPython 3.12 on this machine")
    data = check_json(pyc_zips["12-unchecked-hash"], "--runtime", "python3.12", "--arch", "x86_64")
    assert data["findings"] == []


def test_lp404_top_level_module_pyc_has_a_path(tmp: Path) -> None:
    """A top-level module's bytecode (`__pycache__/x.cpython-312.pyc` at the zip root, as
    pip writes for typing_extensions) must still name where it is."""
    exe = python_exe(12)
    if exe is None:
        pytest.skip("no CPython 3.12 on this machine")
    src = tmp / "toplevel-pyc"
    src.mkdir()
    (src / "lambda_function.py").write_text(HANDLER)
    (src / "helper.py").write_text("X = 1\n")
    subprocess.run([exe, "-m", "compileall", "-q", str(src / "helper.py")], check=True, env=clean_env())
    data = check_json(zip_tree(tmp / "toplevel-pyc.zip", [(src, "")]), "--runtime", "python3.12", "--arch", "x86_64")
    (lp404,) = found(data, "LP404")
    assert lp404["path"] != "", lp404  # "" reads as "the whole package" in every output format


# --- LP301-LP309: hostile archives through the CLI ---------------------------------


def _patch(path: Path, old: bytes, new: bytes, count: int = -1) -> None:
    data = path.read_bytes()
    assert len(old) == len(new) and old in data
    path.write_bytes(data.replace(old, new, count))


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, EPOCH)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.fixture(scope="module")
def hostile(tmp: Path) -> dict[str, Path]:
    d = tmp / "hostile"
    d.mkdir()
    z: dict[str, Path] = {}
    z["traversal"] = make_zip(d / "traversal.zip", {"lambda_function.py": HANDLER,
                                                   "../lp-escape-1.py": "x", "pkg/../../lp-escape-2.py": "x"})
    z["absolute"] = make_zip(d / "absolute.zip", {"lambda_function.py": HANDLER, "/tmp/lp-escape-abs.py": "x",
                                                 "C:/lp-escape-drive.py": "x"})
    z["backslash"] = make_zip(d / "backslash.zip", {"lambda_function.py": HANDLER, "pkg\\mod.py": "x"})
    with zipfile.ZipFile(d / "symlinks.zip", "w") as zf:
        zf.writestr(zinfo("lambda_function.py"), HANDLER)
        zf.writestr(_symlink("escape"), "../../etc/passwd")
        zf.writestr(_symlink("alias.py"), "lambda_function.py")
        zf.writestr(_symlink("tmpdir"), "/tmp")
        zf.writestr(zinfo("tmpdir/lp-escape-link.py"), "x")
    z["symlinks"] = d / "symlinks.zip"
    with zipfile.ZipFile(d / "bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(zinfo("lambda_function.py"), HANDLER)
        with zf.open(zinfo("payload.bin"), "w") as f:
            block = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(block)
    z["bomb"] = d / "bomb.zip"
    with zipfile.ZipFile(d / "many.zip", "w", zipfile.ZIP_STORED) as zf:
        for i in range(100_001):
            zf.writestr(zipfile.ZipInfo(f"f/{i}", EPOCH), b"")
    z["many"] = d / "many.zip"
    full = make_zip(d / "whole.zip", {"lambda_function.py": HANDLER * 50, "pkg/mod.py": "x = 1\n" * 500})
    data = full.read_bytes()
    (d / "truncated.zip").write_bytes(data[: len(data) // 2])
    z["truncated"] = d / "truncated.zip"
    # A stored member whose bytes were damaged after writing: the CRC no longer matches.
    with zipfile.ZipFile(d / "corrupt.zip", "w", zipfile.ZIP_STORED) as zf:
        info = zinfo("lambda_function.py")
        info.compress_type = zipfile.ZIP_STORED
        zf.writestr(info, HANDLER)
    _patch(d / "corrupt.zip", b"return {'ok': True}", b"return {'ok': Tru3}")
    z["corrupt"] = d / "corrupt.zip"
    # A deflated member whose stream is garbage from its first byte.
    with zipfile.ZipFile(d / "baddeflate.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zinfo("lambda_function.py"), HANDLER)
        zf.writestr(zinfo("blob.bin"), os.urandom(4096) * 4)
    raw = bytearray((d / "baddeflate.zip").read_bytes())
    at = raw.index(b"blob.bin") + len(b"blob.bin")
    raw[at: at + 64] = b"\xff" * 64
    (d / "baddeflate.zip").write_bytes(bytes(raw))
    z["baddeflate"] = d / "baddeflate.zip"
    make_zip(d / "nonutf8.zip", {"lambda_function.py": HANDLER, "caf@.py": "x"})
    _patch(d / "nonutf8.zip", b"caf@.py", b"caf\xe9.py")  # latin-1 bytes, no UTF-8 flag
    z["nonutf8"] = d / "nonutf8.zip"
    with zipfile.ZipFile(d / "dup.zip", "w") as zf:
        zf.writestr(zinfo("lambda_function.py"), HANDLER)
        with pytest.warns(UserWarning):
            zf.writestr(zinfo("lambda_function.py"), "def lambda_handler(e, c): return 2\n")
    z["duplicate"] = d / "dup.zip"
    with zipfile.ZipFile(d / "bzip2.zip", "w") as zf:
        zf.writestr(zinfo("lambda_function.py"), HANDLER)
        info = zinfo("pkg/data.txt")
        info.compress_type = zipfile.ZIP_BZIP2
        zf.writestr(info, "x" * 1000)
    z["bzip2"] = d / "bzip2.zip"
    make_zip(d / "encrypted.zip", {"lambda_function.py": HANDLER})
    raw = bytearray((d / "encrypted.zip").read_bytes())
    cd = raw.index(b"PK\x01\x02")
    raw[cd + 8] |= 1  # general purpose flag bit 0: encrypted
    (d / "encrypted.zip").write_bytes(bytes(raw))
    z["encrypted"] = d / "encrypted.zip"
    (d / "notazip.zip").write_text("this is not a zip\n")
    z["notazip"] = d / "notazip.zip"
    (d / "empty.zip").write_bytes(b"")
    z["empty"] = d / "empty.zip"
    fifo_dir = d / "fifodir"
    fifo_dir.mkdir()
    (fifo_dir / "lambda_function.py").write_text(HANDLER)
    os.mkfifo(fifo_dir / "pipe")
    z["fifo"] = fifo_dir
    return z


# name -> (exit code, codes that must appear (exit 1) or words in the one error (exit 2))
HOSTILE_CASES: dict[str, tuple[int, set[str] | str]] = {
    "traversal": (1, {"LP301"}),
    "absolute": (1, {"LP302"}),
    "backslash": (1, {"LP302"}),
    "symlinks": (1, {"LP303", "LP301"}),
    "bomb": (1, {"LP304"}),
    "corrupt": (1, {"LP307"}),
    "baddeflate": (1, {"LP307"}),
    "nonutf8": (0, {"LP306"}),
    "duplicate": (1, {"LP305"}),
    "bzip2": (0, {"LP308"}),
    "fifo": (0, {"LP309"}),
    "many": (2, "100001 entries"),
    "truncated": (2, "truncated"),
    "encrypted": (2, "encrypted"),
    "notazip": (2, "neither a zip"),
    "empty": (2, "neither a zip"),
}


def _listing(*roots: Path) -> set[str]:
    return {str(p) for r in roots for p in r.rglob("*")}


@pytest.mark.parametrize("case", sorted(HOSTILE_CASES))
def test_hostile_archive(hostile: dict[str, Path], tmp_path: Path, case: str) -> None:
    want_rc, want = HOSTILE_CASES[case]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    roots = (hostile[case].parent, cwd)
    before = _listing(*roots)
    tmp_before = {p.name for p in Path("/tmp").iterdir()}
    r = lp_check(hostile[case], "--runtime", "python3.12", "--arch", "x86_64", "--handler",
                 "lambda_function.lambda_handler", "--format", "json", cwd=cwd)
    assert "Traceback" not in r.stderr, r.explain()
    assert r.returncode == want_rc, r.explain()
    if want_rc == 2:
        assert r.json["ok"] is False and r.json["error"]["exit_code"] == 2  # only the failure object
        assert set(r.json) == {"version", "ok", "error"}
        assert isinstance(want, str)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert lines and lines[0].startswith("error:") and want in lines[0], r.explain()
        assert len([ln for ln in lines if ln.startswith("error:")]) == 1
    else:
        data = r.json
        assert isinstance(want, set)
        assert want <= codes(data), data["findings"]
    assert _listing(*roots) == before
    assert {n for n in {p.name for p in Path("/tmp").iterdir()} - tmp_before if n.startswith("lp-escape")} == set()
    for p in (cwd.parent / "lp-escape-1.py", cwd.parent.parent / "lp-escape-2.py", Path("/tmp/lp-escape-abs.py"),
              Path("/tmp/lp-escape-link.py")):
        assert not p.exists()


def test_hostile_findings_detail(hostile: dict[str, Path]) -> None:
    data = check_json(hostile["symlinks"], "--runtime", "python3.12", "--arch", "x86_64")
    lp303 = {f["path"]: f["severity"] for f in found(data, "LP303")}
    assert lp303 == {"escape": "error", "alias.py": "warning", "tmpdir": "error"}
    assert [f["path"] for f in found(data, "LP301")] == ["tmpdir/lp-escape-link.py"]
    data = check_json(hostile["nonutf8"], "--runtime", "python3.12", "--arch", "x86_64")
    (lp306,) = found(data, "LP306")
    assert lp306["path"] == "caf\\xe9.py"
    data = check_json(hostile["bomb"], "--runtime", "python3.12", "--arch", "x86_64")
    assert [f["path"] for f in found(data, "LP304")] == ["payload.bin"]


def test_text_format_on_hostile_names(hostile: dict[str, Path]) -> None:
    r = lp_check(hostile["nonutf8"], "--runtime", "python3.12", "--arch", "x86_64")
    assert r.returncode == 0 and "caf\\xe9.py" in r.stdout, r.explain()


# --- end to end: a clean lambdapack build, and the "articles" zip -------------------


@pytest.mark.network
def test_clean_build_checks_clean_and_infers_target(tmp: Path) -> None:
    src = tmp / "e2e-src"
    src.mkdir()
    (src / "lambda_function.py").write_text("import numpy, pydantic\n" + HANDLER)
    req = tmp / "e2e-req.txt"
    req.write_text("numpy\npydantic\n")
    out = tmp / "e2e.zip"
    r = run_lp(["build", str(src), "-r", str(req), "--runtime", "python3.12", "--arch", "arm64", "-o", str(out),
                "-q"], cwd=tmp)
    assert r.returncode == 0, r.explain()
    data = check_json(out, "--handler", "lambda_function.lambda_handler")
    assert data["_run"].returncode == 0
    assert errors(data) == [] and data["findings"] == [], data["findings"]
    assert (data["target"]["runtime"], data["target"]["arch"]) == ("python3.12", "arm64")
    assert set(data["inferred"]) == {"runtime", "arch"}
    assert data["inferred"]["runtime"].startswith("python3.12") and data["inferred"]["arch"].startswith("arm64")
    explicit = check_json(out, "--runtime", "python3.12", "--arch", "arm64")
    assert explicit["inferred"] == {} and explicit["findings"] == []


def test_cannot_infer_without_native_code(fn_plain: Path) -> None:
    r = lp_check(fn_plain)
    assert r.returncode == 2 and "--runtime" in r.stderr, r.explain()


@pytest.fixture(scope="module")
def articles_zip(tmp: Path) -> Path:
    """numpy + pydantic + requests installed the way blog posts do it: this machine's
    python3.11, `pip install --target`, then `shutil.make_archive`."""
    exe = python_exe(11)
    if exe is None:
        pytest.skip("no CPython 3.11 on this machine")
    d = tmp / "articles"
    d.mkdir()
    (d / "requirements.txt").write_text("numpy\npydantic\nrequests\n")
    pkg = d / "package"
    p = subprocess.run([exe, "-m", "pip", "install", "--quiet", "--target", str(pkg), "-r",
                        str(d / "requirements.txt")], env=pip_env(), capture_output=True, text=True,
                       check=False, timeout=600)
    assert p.returncode == 0, p.stderr
    (pkg / "lambda_function.py").write_text("import numpy, pydantic, requests\n" + HANDLER)
    return Path(shutil.make_archive(str(d / "articles"), "zip", pkg))


def _save_text(name: str, run: Run, zip_path: Path) -> None:
    """Store the text report for the README, with the machine-specific zip path neutralised.

    Only when asked (LAMBDAPACK_UPDATE_FIXTURES=1): a test run must not edit tracked files,
    and PyPI's versions move, so the stored text changes on every run.
    """
    if os.environ.get("LAMBDAPACK_UPDATE_FIXTURES") != "1":
        return
    CHECK_FIXTURES.mkdir(parents=True, exist_ok=True)
    text = run.stdout.replace(str(zip_path), "articles.zip")
    (CHECK_FIXTURES / name).write_text(f"$ lambdapack check articles.zip {' '.join(run.argv[5:])}\n{text}")


@pytest.mark.network
def test_articles_zip_python311_x86_64(articles_zip: Path) -> None:
    r = lp_check(articles_zip, "--runtime", "python3.11", "--arch", "x86_64")
    _save_text("articles-py311-x86_64.txt", r, articles_zip)
    data = check_json(articles_zip, "--runtime", "python3.11", "--arch", "x86_64")
    assert r.returncode == data["_run"].returncode
    assert "LP002" not in codes(data) and "LP001" not in codes(data)
    lp404 = found(data, "LP404")
    assert {f["distribution"].split()[0] for f in lp404} >= {"numpy", "pydantic", "requests"}
    # pip on this (glibc 2.36) machine picks numpy's manylinux_2_28 wheel; Amazon Linux 2 has glibc 2.26.
    numpy_tag = next(iter((articles_zip.parent / "package").glob("numpy-*.dist-info/WHEEL"))).read_text()
    if "manylinux_2_28" in numpy_tag or "manylinux_2_27" in numpy_tag:
        assert any(f["distribution"].startswith("numpy ") for f in found(data, "LP003"))
        assert r.returncode == 1


@pytest.mark.network
def test_articles_zip_python311_arm64(articles_zip: Path) -> None:
    r = lp_check(articles_zip, "--runtime", "python3.11", "--arch", "arm64")
    _save_text("articles-py311-arm64.txt", r, articles_zip)
    data = check_json(articles_zip, "--runtime", "python3.11", "--arch", "arm64")
    assert r.returncode == 1
    lp002 = found(data, "LP002")
    assert {f["distribution"].split()[0] for f in lp002} >= {"numpy", "pydantic_core"}
    assert all(re.search(r"\.so(\.\d+)*$", f["path"]) for f in lp002), lp002
