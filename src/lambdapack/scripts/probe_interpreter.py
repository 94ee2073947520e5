"""Describe this interpreter: one JSON line on stdout.

Run by lambdapack's `interpreters` module as `python -I probe_interpreter.py` on every
candidate interpreter it finds (any version: keep it to syntax and library that old
Pythons parse and have, so that they answer, or fail, quickly). Imports nothing of
lambdapack's.
"""

import json
import platform
import sys
import sysconfig

print(json.dumps({  # noqa: T201 (the answer goes to stdout)
    "version": list(sys.version_info[:3]),
    "releaselevel": sys.version_info.releaselevel,
    "machine": platform.machine(),
    "platform": sys.platform,  # "linux", "darwin", "win32": only a Linux one can load Linux .so files
    "implementation": sys.implementation.name,
    "gil_disabled": sysconfig.get_config_var("Py_GIL_DISABLED"),
    "cache_tag": sys.implementation.cache_tag,
}))
