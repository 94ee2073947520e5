"""Local path requirements (issue 11 item 1): `./pkg`, `-e ./pkg` and `file:///abs/pkg` are the
user's own code, built into wheels by the real uv without --allow-sdist and installed non-editably;
what they build to is held to the sdist policy. Offline: each package's PEP 517 backend is in its
own tree and uses the standard library only, and the dependencies come from a --find-links
directory of wheels the test writes."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from lp_helpers import run_lp, write_handler, zip_names
from wheels import write_wheel

TARGET = ["--runtime", "python3.12", "--arch", "x86_64", "--no-compile"]

BACKEND = '''"""A PEP 517 backend from the standard library only: a wheel of <name>/ tagged TAG."""
import base64, hashlib, os, zipfile

NAME, VERSION, TAG, REQUIRES = {name!r}, "0.1", {tag!r}, {requires!r}
DIST = f"{{NAME}}-{{VERSION}}.dist-info"


def _files(editable=False):
    out = {{}}
    if editable:  # as setuptools and hatchling do: a .pth naming the source tree, no package files
        out[f"__editable__.{{NAME}}.pth"] = os.path.abspath(".").encode() + b"\\n"
    for d, _, fs in os.walk(NAME if not editable else os.devnull):
        for f in fs:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[p.replace(os.sep, "/")] = fh.read()
    meta = f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n"
    out[f"{{DIST}}/METADATA"] = (meta + "".join(f"Requires-Dist: {{r}}\\n" for r in REQUIRES)).encode()
    pure = "true" if TAG.endswith("-any") else "false"
    out[f"{{DIST}}/WHEEL"] = f"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: {{pure}}\\nTag: {{TAG}}\\n".encode()
    return out


def _sha(b):
    return base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None, editable=False):
    name = f"{{NAME}}-{{VERSION}}-{{TAG}}.whl"
    files = _files(editable)
    record = "".join(f"{{p}},sha256={{_sha(b)}},{{len(b)}}\\n" for p, b in files.items()) + f"{{DIST}}/RECORD,,\\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for p, b in files.items():
            z.writestr(p, b)
        z.writestr(f"{{DIST}}/RECORD", record)
    return name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return build_wheel(wheel_directory, config_settings, metadata_directory, editable=True)
'''


def _local_package(root: Path, name: str, tag: str = "py3-none-any", requires: tuple[str, ...] = ()) -> Path:
    pkg = root / name
    (pkg / name).mkdir(parents=True)
    (pkg / name / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    (pkg / "_build").mkdir()
    (pkg / "_build" / "backend.py").write_text(BACKEND.format(name=name, tag=tag, requires=list(requires)),
                                               encoding="utf-8")
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n\n'
        f'[project]\nname = "{name}"\nversion = "0.1"\ndependencies = {list(requires)!r}\n'.replace("'", '"'),
        encoding="utf-8")
    return pkg


def _build(tmp_path: Path, requirements: str) -> tuple[object, Path]:
    wheels = tmp_path / "wheels"
    wheels.mkdir(exist_ok=True)
    write_wheel(wheels, "alpha", "1.0")
    (tmp_path / "empty").mkdir(exist_ok=True)
    (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    write_handler(tmp_path / "src", "import shared, alpha")
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(tmp_path / "src"), "-r", str(tmp_path / "requirements.txt"), *TARGET,
                "--index-url", str(tmp_path / "empty"), "--find-links", str(wheels), "-o", str(out)],
               cwd=tmp_path, timeout=300)
    assert "Traceback" not in r.stderr, r.explain()
    return r, out


@pytest.mark.parametrize("line", ["./shared", "-e ./shared", "FILE_URL", "shared @ FILE_URL"])
def test_a_local_package_is_built_without_allow_sdist_and_installed_non_editably(tmp_path: Path, line: str) -> None:
    pkg = _local_package(tmp_path, "shared", requires=("alpha",))
    r, out = _build(tmp_path, line.replace("FILE_URL", pkg.as_uri()) + "\n")
    assert r.returncode == 0, r.explain()  # type: ignore[attr-defined]
    names = zip_names(out)
    assert "shared/__init__.py" in names and "alpha/__init__.py" in names, names  # at the top level
    assert not [n for n in names if n.endswith((".pth", ".egg-link")) or "__editable__" in n], names
    with zipfile.ZipFile(out) as zf:
        direct = [n for n in names if n.startswith("shared-0.1.dist-info/") and n.endswith("direct_url.json")]
        assert all(b'"editable": true' not in zf.read(n) for n in direct), direct


def test_a_local_package_that_builds_native_code_is_refused_as_an_sdist_is(tmp_path: Path) -> None:
    _local_package(tmp_path, "shared", tag="cp312-cp312-linux_x86_64")
    r, out = _build(tmp_path, "./shared\n")
    assert r.returncode == 1, r.explain()  # type: ignore[attr-defined]
    assert "shared 0.1: only a source distribution with native code exists" in r.stderr  # type: ignore[attr-defined]
    assert not out.exists()


def test_a_local_package_whose_build_fails_names_it(tmp_path: Path) -> None:
    pkg = _local_package(tmp_path, "shared")
    (pkg / "_build" / "backend.py").write_text("raise SystemExit('no backend here')\n", encoding="utf-8")
    r, out = _build(tmp_path, "./shared\n")
    assert r.returncode == 1, r.explain()  # type: ignore[attr-defined]
    assert f"building the local package {pkg} into a wheel failed" in r.stderr, r.stderr  # type: ignore[attr-defined]
    assert not out.exists()


def test_a_path_member_of_a_uv_lock_is_built_from_the_project_not_the_current_directory(
    tmp_path: Path, uv_cmd: list[str]
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    _local_package(proj, "shared", requires=("alpha",))
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.11"\ndependencies = ["shared"]\n\n'
        '[tool.uv.sources]\nshared = { path = "shared" }\n', encoding="utf-8")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "alpha", "1.0")
    (tmp_path / "empty").mkdir()
    locked = subprocess.run([*uv_cmd, "lock", "--index-url", str(tmp_path / "empty"), "--find-links", str(wheels)],
                            cwd=proj, capture_output=True, text=True, timeout=120)
    assert locked.returncode == 0, locked.stderr
    write_handler(tmp_path / "src", "import shared, alpha")
    out = tmp_path / "fn.zip"
    r = run_lp(["build", str(tmp_path / "src"), "--lock", str(proj / "uv.lock"), *TARGET,
                "--index-url", str(tmp_path / "empty"), "--find-links", str(wheels), "-o", str(out)],
               cwd=tmp_path, timeout=300)  # not the project's directory: ./shared means proj/shared
    assert r.returncode == 0, r.explain()
    names = zip_names(out)
    assert "shared/__init__.py" in names and "alpha/__init__.py" in names, names
    assert not [n for n in names if n.endswith(".pth") or "__editable__" in n], names


def test_a_local_package_in_an_included_file_says_to_add_allow_sdist(tmp_path: Path) -> None:
    _local_package(tmp_path, "shared")
    (tmp_path / "more.txt").write_text("./shared\n", encoding="utf-8")
    r, out = _build(tmp_path, "-r more.txt\n")
    assert r.returncode == 1, r.explain()  # type: ignore[attr-defined]
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(("error:", "hint:"))]  # type: ignore[attr-defined]
    assert lines[0] == "error: shared can only be installed by building it from source, which this build does not do"
    assert "add --allow-sdist" in lines[1], lines
    assert not out.exists()


def test_an_edit_to_a_local_package_is_built_and_no_change_is_reused(tmp_path: Path) -> None:
    pkg = _local_package(tmp_path, "shared", requires=("alpha",))
    cache = ["--cache-dir", str(tmp_path / "cache")]
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "alpha", "1.0")
    (tmp_path / "empty").mkdir()
    (tmp_path / "requirements.txt").write_text("./shared\n", encoding="utf-8")
    write_handler(tmp_path / "src", "import shared")
    out = tmp_path / "fn.zip"
    args = ["build", str(tmp_path / "src"), "-r", str(tmp_path / "requirements.txt"), *TARGET, *cache,
            "--index-url", str(tmp_path / "empty"), "--find-links", str(wheels), "-o", str(out)]

    def built() -> bytes:
        r = run_lp(args, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.explain()
        with zipfile.ZipFile(out) as zf:
            return zf.read("shared/__init__.py")

    assert built() == b"VALUE = 1\n"
    (pkg / "shared" / "__init__.py").write_text("VALUE = 2\n", encoding="utf-8")  # same name and version
    assert built() == b"VALUE = 2\n"
    r = run_lp(args, cwd=tmp_path, timeout=300)
    assert r.returncode == 0 and "no change" in r.stderr, r.explain()
