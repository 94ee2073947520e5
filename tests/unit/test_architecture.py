"""docs/architecture.md is the map of the package: it must name every part and module, and
state the same layer order as the import rules that CI enforces (pyproject.toml)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "lambdapack"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _parts() -> list[str]:
    return sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def _section(part: str) -> str:
    m = re.search(rf"^### `{part}/`\n(.*?)(?=^### |^## |\Z)", DOC, re.S | re.M)
    assert m, f"docs/architecture.md has no '### `{part}/`' section"
    return m.group(1)


def test_every_part_has_a_paragraph_naming_its_modules() -> None:
    for part in _parts():
        text = _section(part)
        for module in sorted((PACKAGE / part).rglob("*.py")):
            if module.name == "__init__.py":
                continue
            assert f"`{module.stem}`" in text, f"{part}/{module.name} is not described in its section"


def test_top_level_modules_are_named() -> None:
    for module in sorted(PACKAGE.glob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        assert f"`{module.stem}`" in DOC, f"{module.name} is not described in docs/architecture.md"


def test_the_documented_layer_order_is_the_enforced_one() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    enforced = [[name.strip().removeprefix("lambdapack.") for name in layer.split("|")] for layer in layers]
    m = re.search(r"^Layers, top to bottom: (.*)$", DOC, re.M)
    assert m, "docs/architecture.md states no 'Layers, top to bottom:' line"
    documented = [[n.strip(" `") for n in layer.split("|")] for layer in m.group(1).rstrip(".").split(" > ")]
    assert documented == enforced
    covered = {n for layer in enforced for n in layer}
    assert set(_parts()) - {"scripts"} <= covered, "a part is missing from the layers contract"


def test_inspect_writes_no_files() -> None:
    """Inspection reads artifacts; only the smoke test's throwaway tree (smoketree) is written."""
    allowed = {"smoketree"}
    for module in sorted((PACKAGE / "inspect").rglob("*.py")):
        if module.stem in allowed:
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name.endswith(("write_bytes", "write_text", "mkdir", "makedirs", "copyfile", "copy2", "extractall")):
                    raise AssertionError(f"inspect/{module.name}: {name}(...) writes files")
                if name in ("open", "io.open") or name.endswith(".open"):
                    mode = node.args[1] if len(node.args) > 1 else next(
                        (k.value for k in node.keywords if k.arg == "mode"), None)
                    if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax+"):
                        raise AssertionError(f"inspect/{module.name}: {name}(..., {mode.value!r}) writes files")


def test_only_the_host_edge_starts_processes() -> None:
    """`host/processes.py` is the one place that starts a process (timeouts, cleaned
    environment, children stopped on an interrupt); everything else goes through it."""
    starters = ("os.system", "os.popen", "os.spawn", "os.exec", "os.fork", "os.posix_spawn")
    for module in sorted(PACKAGE.rglob("*.py")):
        rel = module.relative_to(PACKAGE)
        if rel.parts[0] == "host":
            continue
        if rel.as_posix() == "scripts/zigcc.py":  # the build's compiler: a build backend runs it, it becomes zig
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                bad = [n for n in names if n.split(".")[0] in ("subprocess", "multiprocessing")]
                assert not bad, f"{rel} imports {bad}: start processes through lambdapack.host.processes"
            if isinstance(node, ast.Call) and ast.unparse(node.func).startswith(starters):
                raise AssertionError(f"{rel}: {ast.unparse(node.func)}(...) starts a process outside host/")
