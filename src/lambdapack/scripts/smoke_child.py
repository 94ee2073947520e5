"""Import one module the way Lambda would, and report how it went.

Run by lambdapack's `inspect.smokechild` in the smoke interpreter (the target's version,
3.9 and later: no newer syntax or library here), as `python -I -S smoke_child.py CONFIG`.
CONFIG is JSON: {"module", "function" (or null), "path" (Lambda's sys.path, locally),
"sdk" (top-level names found in this interpreter's site-packages, after everything)}.
The result is one JSON line on the original stdout; the imported code's own output
(fd 1 included) is sent to stderr. Imports nothing of lambdapack's.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # before anything is imported: shipped .pyc are read, none written

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any  # noqa: E402


class _RuntimeSDK:
    """Finds exactly the runtime's SDK names, after everything else, in `dirs`
    (the way Lambda puts /var/runtime after the user's paths)."""

    names: frozenset[str] = frozenset()
    dirs: tuple[str, ...] = ()

    @classmethod
    def install(cls, names: list[str]) -> None:
        # Imported only when asked for: the import under test sees what it would see without.
        import importlib.machinery  # noqa: F401 (find_spec's PathFinder)
        import sysconfig

        paths = sysconfig.get_paths()
        cls.names = frozenset(names)
        cls.dirs = tuple(dict.fromkeys([paths["purelib"], paths["platlib"]]))
        sys.meta_path.append(cls)

    @classmethod
    def find_spec(cls, name: str, path: object = None, target: object = None) -> Any:
        if path is None and name in cls.names:
            return importlib.machinery.PathFinder.find_spec(name, list(cls.dirs))
        return None


def _error(e: BaseException) -> dict[str, Any]:
    own = os.path.realpath(__file__)
    # This script's own frame is not part of the import's story.
    tb = [f for f in traceback.extract_tb(e.__traceback__) if os.path.realpath(f.filename) != own]
    frames = [f for f in tb if not f.filename.startswith("<frozen")] or list(tb)
    last = frames[-1] if frames else None
    files = [f.filename for f in tb]
    path = getattr(e, "path", None)
    if isinstance(path, str):
        files.append(path)
    t = type(e)
    return {
        "type": t.__name__ if t.__module__ == "builtins" else t.__module__ + "." + t.__qualname__,
        "message": str(e),
        "name": getattr(e, "name", None) if isinstance(e, ImportError) else None,
        "frame": [last.filename, last.lineno, last.name, last.line] if last else None,
        "files": files,
    }


def main() -> None:
    cfg = json.loads(sys.argv[1])
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path[:] = cfg["path"] + [p for p in sys.path if p and p not in cfg["path"]]
    if cfg["sdk"]:
        _RuntimeSDK.install(cfg["sdk"])
    res: dict[str, Any] = {"module": cfg["module"]}
    t0 = time.perf_counter()
    try:
        mod = importlib.import_module(cfg["module"])
        res["seconds"] = time.perf_counter() - t0
        fn = cfg.get("function")
        if fn is not None:
            if not hasattr(mod, fn):
                res["error"] = {"type": "AttributeError", "message":
                                f"module {cfg['module']!r} has no attribute {fn!r} (Runtime.HandlerNotFound)"}
            elif not callable(getattr(mod, fn)):
                res["error"] = {"type": "TypeError", "message":
                                f"{cfg['module']}.{fn} is a {type(getattr(mod, fn)).__name__}, not a function"}
    except BaseException as e:
        res["error"] = _error(e)
    out.write(json.dumps(res) + "\n")
    out.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
