"""LP205: a module in the function and in a layer. Only what `import` finds counts:
`__pycache__`, `*.dist-info`, `bin`, `lib`, dot-folders and shared libraries are not
modules, and two namespace folders merge (their contents are compared instead). Who
wins a real clash is checked against a real interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lambdapack.facts.layout import LambdaFile, LambdaView
from lambdapack.facts.runtimes import get_runtime
from lambdapack.inspect.findings import Finding
from lambdapack.inspect.rules import shadowing

SITE = "/opt/python/lib/python3.12/site-packages"


def view(function: list[str], layer: list[str], layer_root: str = "/opt/python") -> LambdaView:
    v = LambdaView(get_runtime("python3.12"))
    for root, origin, names in (("/var/task", "function", function), (layer_root, "layer 1 (deps.zip)", layer)):
        for n in names:
            rel = n if origin == "function" else f"{layer_root[len('/opt/'):]}/{n}"
            v.add(LambdaFile(f"{root}/{n}", rel, origin, 1, 0o644, "dep 1.0" if origin != "function" else None,
                             lambda: b"", lambda k: b""))
    return v


def lp205(function: list[str], layer: list[str], layer_root: str = "/opt/python") -> list[Finding]:
    return [f for f in shadowing(view(function, layer, layer_root)) if f.code == "LP205"]


NOT_MODULES = [
    "__pycache__/x.cpython-312.pyc",  # bytecode of each side's own modules
    "six-1.17.0.dist-info/METADATA",
    "bin/tool",
    "bin/tool.py",  # two namespace folders merge: tool.py would clash only if in both (it is not)
    "lib/libfoo.so.1",
    "lib/libbar.so",
    ".hidden/config",
    "libz.so",  # a shared library at the root, for LD_LIBRARY_PATH, not for import
    "README.md",
    "pkg.libs/libgfortran-1.so.5",
]


@pytest.mark.parametrize("root", ["/opt/python", SITE])
def test_what_is_not_a_module_never_clashes(root: str) -> None:
    fn = ["app.py", *NOT_MODULES[:-3]]
    layer = [n for n in NOT_MODULES if n != "bin/tool.py"]
    assert lp205(fn, layer, root) == []


@pytest.mark.parametrize("root", ["/opt/python", SITE])
@pytest.mark.parametrize(("fn", "layer"), [
    ("mypkg/__init__.py", "mypkg/__init__.py"),
    ("mypkg.py", "mypkg/__init__.py"),
    ("mypkg/__init__.py", "mypkg.py"),
    ("mypkg.cpython-312-x86_64-linux-gnu.so", "mypkg.py"),
    ("mypkg/__init__.py", "mypkg/sub.py"),  # the layer's namespace folder is hidden too
])
def test_a_real_clash_warns_and_the_function_wins(fn: str, layer: str, root: str) -> None:
    (f,) = lp205(["app.py", fn], [layer], root)
    assert f.path == "mypkg" and str(f.severity) == "warning"
    assert "the function's copy wins" in f.message and root in f.message and f.distribution == "dep 1.0"


def test_namespace_folders_merge_and_their_contents_are_compared() -> None:
    assert lp205(["google/protobuf/__init__.py"], ["google/api/__init__.py"]) == []
    (f,) = lp205(["google/protobuf/__init__.py", "google/x.py"], ["google/protobuf/__init__.py"])
    assert f.path == "google.protobuf" and "the function's copy wins" in f.message


def test_a_layers_package_beats_the_functions_namespace_folder() -> None:
    (f,) = lp205(["foo/bar.py"], ["foo/__init__.py"])
    assert f.path == "foo" and "the layer's wins" in f.message and "foo/ is never imported" in f.message


def test_dunder_and_pycache_alone_only() -> None:
    # a real clash beside the __pycache__ folders is still the only finding
    found = lp205(["app.py", "__pycache__/app.cpython-312.pyc", "six.py"],
                  ["six.py", "__pycache__/six.cpython-312.pyc"])
    assert [f.path for f in found] == ["six"]


def test_who_wins_is_what_python_does(tmp_path: Path) -> None:
    """The two rules behind the messages, on a real interpreter: a package in a later
    sys.path entry beats a namespace folder in an earlier one; two namespace folders merge."""
    task, opt = tmp_path / "task", tmp_path / "opt"
    for p, text in ((task / "foo" / "bar.py", ""), (opt / "foo" / "__init__.py", "WHO = 'layer'\n"),
                    (task / "ns" / "a.py", ""), (opt / "ns" / "b.py", ""),
                    (task / "mod.py", "WHO = 'function'\n"), (opt / "mod" / "__init__.py", "WHO = 'layer'\n")):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    code = (f"import sys; sys.path[:0] = [{str(task)!r}, {str(opt)!r}]; import foo, mod, ns.a, ns.b; "
            "print(foo.WHO, mod.WHO)")
    got = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60,
                         check=False)
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["layer", "function"]
    assert [f.path for f in lp205(["foo/bar.py", "ns/a.py", "mod.py"], ["foo/__init__.py", "ns/b.py", "mod/__init__.py"])] \
        == ["foo", "mod"]
