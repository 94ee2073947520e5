"""The target's CPython build configuration, derived from a build machine's CPython (pure).

A build backend asks `sysconfig` how to compile an extension: the compiler (CC, LDSHARED, ...),
the flags, the extension suffix (EXT_SUFFIX `.cpython-312-aarch64-linux-gnu.so`). CPython reads
that from the module `_PYTHON_SYSCONFIGDATA_NAME` names, the way its own cross builds do
(Lib/sysconfig.py). `target_config` turns the build interpreter's `build_time_vars` into the
target's: the machine's strings swapped, zig (through `scripts/zigcc.py`) as every compiler
and linker, the build machine's own flags (its -L/-rpath, -g, -march) dropped.

The headers are the build interpreter's, of the same minor version; `pyconfig.h` differs
between Linux machines in a few defines, which `target_pyconfig` sets for the target. They were
found by diffing Debian 12's libpython3.11-dev for amd64 against arm64 (the only four lines
that differ) and checked against CPython's configure.ac, which defines them from the machine.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from lambdapack.target.tags import Target

__all__ = ["ARCH_DEFINES", "Toolchain", "host_platform", "module_name", "module_source", "pyconfig_redirect",
           "target_config", "target_pyconfig"]

# Per machine: the pyconfig.h defines that depend on it (None: not defined there).
# HAVE_GCC_ASM_FOR_X64/X87: inline assembly of x86 only; HAVE_USABLE_WCHAR_T: wchar_t is unsigned
# and 4 bytes (aarch64; signed on x86_64); PY_SUPPORT_TIER (3.12+): PEP 11's tier, 1 for
# x86_64-linux-gnu, 2 for aarch64-linux-gnu.
ARCH_DEFINES: Mapping[str, Mapping[str, str | None]] = {
    "x86_64": {"HAVE_GCC_ASM_FOR_X64": "1", "HAVE_GCC_ASM_FOR_X87": "1", "HAVE_USABLE_WCHAR_T": None,
               "PY_SUPPORT_TIER": "1"},
    "aarch64": {"HAVE_GCC_ASM_FOR_X64": None, "HAVE_GCC_ASM_FOR_X87": None, "HAVE_USABLE_WCHAR_T": "1",
                "PY_SUPPORT_TIER": "2"},
}

# What a build reads besides the compiler lines, CPython's defaults without the host's flags:
# no -g (no debug sections to strip, no build paths in them), no -march.
_CFLAGS = "-fno-strict-overflow -Wsign-compare -DNDEBUG -O2"


@dataclass(frozen=True)
class Toolchain:
    """How to run the compiler wrapper: `python` runs `wrapper` (scripts/zigcc.py) with `zig`."""

    python: str
    wrapper: str
    zig: str

    def command(self, target: Target, mode: str) -> str:
        """One shell-quoted command line, as sysconfig's CC/CXX hold it (`mode`: cc or c++)."""
        return shlex.join([self.python, self.wrapper, self.zig, target.compiler_target, mode])


def module_name(target: Target) -> str:
    """`_sysconfigdata_` + abiflags + `_linux_` + the multiarch triple, as CPython names it."""
    return f"_sysconfigdata__linux_{target.arch.machine}-linux-gnu"


def host_platform(target: Target) -> str:
    """`_PYTHON_HOST_PLATFORM`: what sysconfig.get_platform() says, and so the wheel's platform tag."""
    return f"linux-{target.arch.machine}"


def target_config(host: Mapping[str, object], host_machine: str, target: Target,
                  tools: Toolchain, include: str) -> dict[str, object]:
    """The build_time_vars of a CPython of the target, from the build interpreter's `host`."""
    machine = target.arch.machine
    out: dict[str, object] = {}
    for key, value in host.items():
        out[key] = value.replace(f"{host_machine}-linux-gnu", f"{machine}-linux-gnu") if isinstance(value, str) \
            else value
    cc, cxx = tools.command(target, "cc"), tools.command(target, "c++")
    py = f"{target.runtime.python[0]}{target.runtime.python[1]}"
    out.update({
        "CC": cc, "CXX": cxx, "LDSHARED": f"{cc} -shared", "LDCXXSHARED": f"{cxx} -shared",
        "BLDSHARED": f"{cc} -shared", "CPP": f"{cc} -E", "AR": shlex.join([tools.zig, "ar"]), "ARFLAGS": "rcs",
        "CFLAGS": _CFLAGS, "PY_CFLAGS": _CFLAGS, "OPT": "-DNDEBUG -O2", "BASECFLAGS": "-fno-strict-overflow",
        "CCSHARED": "-fPIC", "CFLAGSFORSHARED": "-fPIC", "LDFLAGS": "", "PY_LDFLAGS": "", "CPPFLAGS": "",
        "CONFIGURE_CFLAGS": "", "CONFIGURE_LDFLAGS": "", "CONFIGURE_CPPFLAGS": "", "LIBS": "",
        # The rest of CPython's own flags, read by build tools other than setuptools.
        "PY_CORE_LDFLAGS": "", "PY_LDFLAGS_NOLTO": "", "SHLIBS": "", "PY_CFLAGS_NODIST": "",
        "PY_CORE_CFLAGS": _CFLAGS, "PY_STDMODULE_CFLAGS": _CFLAGS, "CFLAGS_NODIST": "", "LDFLAGS_NODIST": "",
        "INCLUDEPY": include, "INCLUDEDIR": include,
        "MULTIARCH": f"{machine}-linux-gnu", "HOST_GNU_TYPE": f"{machine}-unknown-linux-gnu",
        "EXT_SUFFIX": f".cpython-{py}-{machine}-linux-gnu.so", "SOABI": f"cpython-{py}-{machine}-linux-gnu",
        "MACHDEP": "linux",
        # Lambda's extensions never link libpython; a shared-libpython build machine would add its
        # LIBDIR (/usr/lib/<multiarch> on Debian) to every link.
        "Py_ENABLE_SHARED": 0,
    })
    return out


def module_source(config: Mapping[str, object]) -> str:
    """The text of the `_sysconfigdata_*` module (repr is a Python literal of str/int values)."""
    items = ",\n".join(f"    {k!r}: {config[k]!r}" for k in sorted(config))
    return f"# Written by lambdapack for a cross build; read by sysconfig.\nbuild_time_vars = {{\n{items},\n}}\n"


_DEFINE = re.compile(r"^(?:#define|/\* #undef) (\w+)\b.*$", re.MULTILINE)


def target_pyconfig(text: str, machine: str) -> str:
    """`pyconfig.h` of the build machine with the machine-dependent defines set for `machine`."""
    wanted = ARCH_DEFINES[machine]
    seen: set[str] = set()

    def line(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in wanted:
            return m.group(0)
        seen.add(name)
        value = wanted[name]
        return f"/* #undef {name} */" if value is None else f"#define {name} {value}"

    out = _DEFINE.sub(line, text)
    missing = [f"#define {n} {v}" for n, v in wanted.items() if v is not None and n not in seen]
    if missing:
        out = out.rstrip("\n").removesuffix("#endif /*Py_PYCONFIG_H*/").rstrip("\n")
        out += "\n/* lambdapack: defined for the target machine */\n" + "\n".join(missing) + \
            "\n\n#endif /*Py_PYCONFIG_H*/\n"
    return out


def pyconfig_redirect(text: str, multiarch: str) -> str | None:
    """Where a distribution's `pyconfig.h` sends this machine, relative to the include root, or None.

    Debian and Ubuntu install one `pyconfig.h` per machine under /usr/include/<multiarch>/ and a
    small one that includes the right one by the compiler's predefined macros; compiled for the
    target, it would ask for the target machine's file, which is not installed."""
    m = re.search(rf"#\s*include <({re.escape(multiarch)}/python[\d.]+\w*/pyconfig\.h)>", text)
    return m.group(1) if m else None
