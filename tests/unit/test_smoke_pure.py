"""The pure parts of `lambdapack smoke`: which modules to import, which findings explain
a failure, and that extraction writes only what open_artifact accepted, inside its root."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from lambdapack.host.interpreters import Interpreter
from lambdapack.inspect.archive import open_artifact
from lambdapack.inspect.findings import Finding
from lambdapack.inspect.smoke import ModuleResult, SmokeResult, render_text
from lambdapack.inspect.smokeplan import (
    attach_findings,
    lambda_module,
    layer_names_by_root,
    top_level_modules,
)
from lambdapack.inspect.smoketree import extract, remove_tree, set_modes

# -- discovery ----------------------------------------------------------------------


def test_top_level_modules_from_a_real_looking_function_zip() -> None:
    names = [
        "lambda_function.py",
        "requests/__init__.py",
        "requests/api.py",
        "requests-2.32.3.dist-info/RECORD",
        "pydantic_core/__init__.py",
        "pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so",
        "numpy.libs/libopenblas64_p-r0.so",
        "numpy/__init__.py",
        "typing_extensions.py",
        "_cffi_backend.cpython-312-x86_64-linux-gnu.so",
        "_speedups.abi3.so",
        "__pycache__/lambda_function.cpython-312.pyc",
        "bin/normalizer",
        "my-scripts/run.py",  # not an identifier
        "lib/libfoo.so.1",  # data only: native libraries for LD_LIBRARY_PATH
        "share/doc/README",
        "google/protobuf/__init__.py",  # namespace package: code below it
        "README.md",
        "__init__.py",
        "setup.cfg",
    ]
    assert top_level_modules(names) == [
        "_cffi_backend",
        "_speedups",
        "google",
        "lambda_function",
        "numpy",
        "pydantic_core",
        "requests",
        "typing_extensions",
    ]


def test_top_level_modules_folder_with_only_bytecode_or_data_is_not_a_module() -> None:
    assert top_level_modules(["cache/__pycache__/x.cpython-312.pyc", "data/x.json", "lib/"]) == []
    assert top_level_modules(["pkg/", "pkg/sub/mod.py"]) == ["pkg"]


def test_layer_names_split_by_sys_path_entry() -> None:
    names = [
        "python/six.py",
        "python/orjson/__init__.py",
        "python/lib/python3.12/site-packages/attr/__init__.py",
        "python/lib/python3.11/site-packages/old/__init__.py",  # invisible to 3.12 (LP202)
        "lib/libx.so",  # /opt/lib: loader path, not importable
        "bin/tool",
    ]
    by_root = layer_names_by_root(names, "3.12")
    assert top_level_modules(by_root["python/"]) == ["orjson", "six"]
    assert top_level_modules(by_root["python/lib/python3.12/site-packages/"]) == ["attr"]


def test_lambda_module_of_paths() -> None:
    assert lambda_module("/var/task/requests/api.py", "3.12") == "requests"
    assert lambda_module("/var/task/six.py", "3.12") == "six"
    assert lambda_module("/var/task/_x.cpython-312-x86_64-linux-gnu.so", "3.12") == "_x"
    assert lambda_module("/opt/python/lib/python3.12/site-packages/attr/_make.py", "3.12") == "attr"
    assert lambda_module("/opt/python/orjson/__init__.py", "3.12") == "orjson"
    assert lambda_module("/opt/python/lib/python3.11/site-packages/attr/x.py", "3.12") is None
    assert lambda_module("/opt/lib/libx.so", "3.12") is None
    assert lambda_module("/usr/lib/python3.12/json/__init__.py", "3.12") is None


# -- finding attachment ---------------------------------------------------------------


def _f(code: str, path: str, dist: str | None = None, severity: str = "error") -> Finding:
    return Finding(code, severity, path, dist, f"{code} message", "fix it")


SO = "pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so"
FINDINGS = [
    _f("LP002", SO, "pydantic_core 2.27.2"),
    _f("LP002", "layer 1 (deps.zip): python/orjson/orjson.cpython-312-x86_64-linux-gnu.so", "orjson 3.10"),
    _f("LP007", "numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so", "numpy 2.1.0"),
    _f("LP403", "requests/__pycache__/api.cpython-311.pyc", "requests 2.32", severity="warning"),
    _f("LP999", "pydantic/info.txt", "pydantic 2.10", severity="info"),
    _f("LP304", ""),  # whole-artifact error
    _f("LP102", "", severity="warning"),
]


def test_attach_findings_in_the_failing_modules_folder() -> None:
    got = attach_findings("pydantic_core", set(), "ImportError: x", FINDINGS, "3.12")
    assert [f.code for f in got] == ["LP002", "LP304"]
    assert got[0].path == SO


def test_attach_findings_of_modules_seen_in_the_traceback() -> None:
    # `import pydantic` failed inside pydantic_core: the traceback involves it.
    got = attach_findings("pydantic", {"pydantic_core"}, "ImportError: ...", FINDINGS, "3.12")
    assert [f.path for f in got] == [SO, ""]


def test_attach_findings_from_layers_and_warnings_but_never_info() -> None:
    got = attach_findings("orjson", set(), "ImportError", FINDINGS, "3.12")
    assert [f.code for f in got] == ["LP002", "LP304"]
    got = attach_findings("requests", set(), "ImportError", FINDINGS, "3.12")
    assert [f.code for f in got] == ["LP403", "LP304"]
    got = attach_findings("pydantic", set(), "ImportError", FINDINGS, "3.12")
    assert "LP999" not in [f.code for f in got]


def test_attach_binary_findings_of_the_same_distribution() -> None:
    # numpy.libs is not importable, but its libraries are numpy's: a binary error
    # there explains `import numpy` failing.
    dists = {"numpy": {"numpy 2.1.0"}}
    got = attach_findings("numpy", set(), "ImportError: bad", FINDINGS, "3.12", dists)
    assert [f.code for f in got] == ["LP007", "LP304"]
    assert attach_findings("numpy", set(), "ImportError: bad", FINDINGS, "3.12")[0].code == "LP304"


def test_attach_findings_named_in_the_error_text() -> None:
    err = "ImportError: libopenblas64_p-r0-0cf96a72.3.23.dev.so: cannot open shared object file"
    got = attach_findings("scipy", set(), err, FINDINGS, "3.12")
    assert [f.code for f in got] == ["LP007", "LP304"]


def test_unrelated_failure_gets_only_artifact_wide_errors() -> None:
    got = attach_findings("lambda_function", set(), "NameError: x", FINDINGS, "3.12")
    assert [f.code for f in got] == ["LP304"]


# -- extraction -------------------------------------------------------------------------


def _symlink(zf: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)


def test_extract_writes_only_accepted_entries_inside_the_root(tmp_path: Path) -> None:
    z = tmp_path / "hostile.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ok/__init__.py", "X = 1\n")
        zf.writestr("../escape.txt", "no")
        zf.writestr("/abs.txt", "no")
        _symlink(zf, "out", "../../..")  # escapes: never created
        zf.writestr("out/through.txt", "no")  # written through the link: refused by open_artifact
        _symlink(zf, "inside", "ok")  # stays in the tree: created
        info = zipfile.ZipInfo("tool.sh")
        info.create_system = 3
        info.external_attr = 0o755 << 16
        zf.writestr(info, "#!/bin/sh\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = outside / "root" / "var" / "task"
    dest.mkdir(parents=True)
    with open_artifact(z) as art:
        extract(art, dest)
    got = sorted(p.relative_to(outside).as_posix() for p in outside.rglob("*"))
    assert got == [
        "root",
        "root/var",
        "root/var/task",
        "root/var/task/inside",
        "root/var/task/ok",
        "root/var/task/ok/__init__.py",
        "root/var/task/tool.sh",
    ]
    assert (dest / "inside").is_symlink() and (dest / "inside").readlink() == Path("ok")
    assert not (tmp_path / "escape.txt").exists()

    set_modes(dest, writable=False)
    assert stat.S_IMODE((dest / "ok").stat().st_mode) == 0o555
    assert stat.S_IMODE((dest / "ok" / "__init__.py").stat().st_mode) == 0o444
    assert stat.S_IMODE((dest / "tool.sh").stat().st_mode) == 0o555
    assert stat.S_IMODE(dest.stat().st_mode) == 0o555
    remove_tree(outside / "root")
    assert list(outside.iterdir()) == []


def test_later_layer_overwrites_earlier_and_never_writes_through_links(tmp_path: Path) -> None:
    one, two = tmp_path / "one.zip", tmp_path / "two.zip"
    with zipfile.ZipFile(one, "w") as zf:
        zf.writestr("python/conf.py", "VALUE = 1\n")
        _symlink(zf, "python/alias", "conf.py")
        zf.writestr("python/keep.py", "")
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("python/conf.py", "VALUE = 2\n")
        zf.writestr("python/alias", "a file now")  # replaces the link itself, not conf.py
    opt = tmp_path / "opt"
    opt.mkdir()
    for z in (one, two):
        with open_artifact(z) as art:
            extract(art, opt)
    assert (opt / "python" / "conf.py").read_text() == "VALUE = 2\n"
    assert not (opt / "python" / "alias").is_symlink()
    assert (opt / "python" / "alias").read_text() == "a file now"
    assert (opt / "python" / "keep.py").exists()


# -- rendering --------------------------------------------------------------------------


def test_render_text_and_dict() -> None:
    f = _f("LP002", SO, "pydantic_core 2.27.2")
    r = SmokeResult(
        "failed", "1 of 2 imports failed: pydantic", Interpreter("/usr/bin/python3.12", (3, 12, 3), "x86_64"),
        [
            ModuleResult("requests", True, 0.0123, None, []),
            ModuleResult("pydantic", False, None, "ImportError: boom\n  at /var/task/x.py:1 in <module>", [f]),
        ],
        False,
    )
    text = render_text(r)
    assert "FAILED" in text and "12.3 ms" in text and "ImportError: boom" in text
    assert "LP002" in text and "/var/task/x.py:1" in text
    assert "interpreter: /usr/bin/python3.12 (Python 3.12.3, x86_64)" in text
    d = r.as_dict()
    assert d["status"] == "failed" and d["summary"] == {"modules": 2, "ok": 1, "failed": 1}
    assert d["interpreter"] == {"path": str(Path("/usr/bin/python3.12").absolute()), "version": "3.12.3",
                                "implementation": "cpython", "machine": "x86_64", "emulation": None}
    results = d["results"]
    assert isinstance(results, list) and results[1]["findings"][0]["code"] == "LP002"
