"""Print this interpreter's build-time configuration: one JSON line on stdout.

Run by lambdapack's `native.crossbuild` as `python -I native_sysconfig.py` on the CPython
that runs a native build: the target's configuration is derived from it (`native.crosspython`).
Keep to what Python 3.9 has. Imports nothing of lambdapack's.
"""

import importlib
import json
import sys
import sysconfig

name = sysconfig._get_sysconfigdata_name()  # type: ignore[attr-defined]  # the module sysconfig itself reads
print(json.dumps({  # noqa: T201 (the answer goes to stdout)
    "module": name,
    "vars": importlib.import_module(name).build_time_vars,
    "include": sysconfig.get_paths()["include"],
    "platinclude": sysconfig.get_paths()["platinclude"],  # meson-python adds both (Debian: another dir)
    "multiarch": getattr(sys.implementation, "_multiarch", ""),
    "version": list(sys.version_info[:2]),
}, default=str))
