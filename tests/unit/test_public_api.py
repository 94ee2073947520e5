"""Each name has one home: a module's __all__ lists only what the module itself defines, so
an old import path cannot live on as a re-export after a move (the package's lazy public API
in lambdapack/__init__.py is the one deliberate exception)."""

from __future__ import annotations

import ast
from pathlib import Path

import lambdapack

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "lambdapack"


def _defined(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elts = target.elts if isinstance(target, ast.Tuple) else [target]
                names |= {t.id for t in elts if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _exported(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant)]  # type: ignore[attr-defined]
    return []


def test_modules_export_only_what_they_define() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        foreign = sorted(set(_exported(tree)) - _defined(tree))
        assert not foreign, f"{path.relative_to(PACKAGE)} re-exports {foreign}"


def test_no_module_but_the_package_resolves_names_lazily() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert not any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body), path


def test_the_public_names_resolve() -> None:
    for name in lambdapack.__all__:
        assert getattr(lambdapack, name) is not None
