"""Why a native build failed (native.buildfailure), from what real builds print: literal copies
of clang's, gcc's, lld's, zig's, psycopg2's and setuptools-rust's messages inside uv's build
report, and zig's own output produced here when zig is installed."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from lambdapack.errors import BuildError
from lambdapack.host import processes
from lambdapack.host.ziglang import Zig
from lambdapack.native import buildfailure
from lambdapack.native.buildfailure import build_failure, rust_refusal

DOING = "building psycopg2 2.9.10 for python3.12 x86_64"
NOT_PROVIDED = "which the Lambda target does not provide"
OPTIONS_START = "use a release or package with a wheel for the target"


def uv_report(stderr: str, stdout: str = "running build_ext\nbuilding 'demo._ext' extension\n") -> str:
    """A failed build as uv 0.13 reports it: the backend's output indented below its summary."""
    def indent(text: str) -> str:
        return "".join(f"      {ln}\n" for ln in text.splitlines())
    return ("Building wheel from source distribution...\n"
            "  × Failed to build `/tmp/lambdapack-native/demo-1.0.tar.gz`\n"
            "  ├─▶ The build backend returned an error\n"
            "  ╰─▶ Call to `setuptools.build_meta.build_wheel` failed (exit status: 1)\n\n"
            f"      [stdout]\n{indent(stdout)}\n      [stderr]\n{indent(stderr)}\n"
            "      hint: This usually indicates a problem with the package or the build environment.\n")


CLANG_LIBPQ = (
    "In file included from psycopg/adapter_asis.c:28:\n"
    "./psycopg/psycopg.h:36:10: fatal error: 'libpq-fe.h' file not found\n"
    "   36 | #include <libpq-fe.h>\n      |          ^~~~~~~~~~~~\n1 error generated.\n"
    "error: command '/usr/bin/python3 /x/zigcc.py /x/zig x86_64-linux-gnu.2.34 cc' failed with exit code 1\n"
)
GCC_LIBXML = (
    "In file included from src/lxml/etree.c:1097:\n"
    "src/lxml/includes/etree_defs.h:14:10: fatal error: libxml/xmlversion.h: No such file or directory\n"
    "   14 | #include \"libxml/xmlversion.h\"\n      |          ^~~~~~~~~~~~~~~~~~~~~\ncompilation terminated.\n"
    "error: command '/usr/bin/gcc' failed with exit code 1\n"
)
PSYCOPG2_PG_CONFIG = (
    "running egg_info\n\n"
    "Error: pg_config executable not found.\n\n"
    "pg_config is required to build psycopg2 from source.  Please add the directory\n"
    "containing pg_config to the $PATH or specify the full executable path with the\n"
    "option:\n\n    python setup.py build_ext --pg-config /path/to/pg_config build ...\n\n"
    "or with the pg_config option in 'setup.cfg'.\n\n"
    "If you prefer to avoid building psycopg2 from source, please install the PyPI\n"
    "'psycopg2-binary' package instead.\n"
)
LLD_MEMCACHED = ("error: unable to find dynamic system library 'memcached' using strategy 'paths_first'. "
                 "searched paths:\n  /tmp/build/lib/libmemcached.so\n")
SETUPTOOLS_RUST = (
    "running build_rust\n\nerror: can't find Rust compiler\n\n"
    "If you are using an outdated pip version, it is possible a prebuilt wheel is available for this "
    "package but pip is not able to install from it. Installing from the wheel would avoid the need for "
    "a Rust compiler.\n\nTo update pip, run:\n\n    pip install --upgrade pip\n\n"
    "and then retry package installation.\n"
)
C_SYNTAX = (
    "src/demo.c:1:23: error: expected ';' after return statement\n"
    "    1 | int f(void) { return 1 }\n      |                       ^\n      |                       ;\n"
    "1 error generated.\n"
    "error: command '/usr/bin/python3 /x/zigcc.py /x/zig x86_64-linux-gnu.2.34 cc' failed with exit code 1\n"
)


def _zigcc_refused() -> str:
    spec = importlib.util.spec_from_file_location("lambdapack_zigcc_script", processes.script("zigcc.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.REFUSED)


def test_the_refusal_prefix_is_the_one_the_compiler_wrapper_prints() -> None:
    assert _zigcc_refused() == buildfailure.REFUSED


def _full(e: BuildError) -> str:
    return f"{e.message}\n{e.hint}"


def test_clangs_missing_libpq_header_names_libpq_and_psycopg2_binary() -> None:
    e = build_failure(uv_report(CLANG_LIBPQ), DOING)
    assert e.message == (f"{DOING}: it needs libpq (PostgreSQL's client library), {NOT_PROVIDED} "
                         "(header libpq-fe.h not found)")
    assert e.hint is not None and e.hint.startswith("psycopg2-binary (or psycopg[binary]) ships libpq")
    assert OPTIONS_START in e.hint


def test_gccs_missing_libxml_header_names_libxml2_and_lxml_wheels() -> None:
    e = build_failure(uv_report(GCC_LIBXML), "building lxml 4.9.4 for python3.12 arm64")
    assert e.message == (f"building lxml 4.9.4 for python3.12 arm64: it needs libxml2, {NOT_PROVIDED} "
                         "(header libxml/xmlversion.h not found)")
    assert e.hint is not None and e.hint.startswith("a release of lxml with a wheel for the target")


def test_psycopg2s_missing_pg_config_names_libpq() -> None:
    e = build_failure(uv_report("", stdout=PSYCOPG2_PG_CONFIG), DOING)
    assert e.message == f"{DOING}: it needs libpq (PostgreSQL's client library), {NOT_PROVIDED} (pg_config not found)"
    assert e.hint is not None and "psycopg2-binary" in e.hint


def test_a_missing_mysql_config_names_the_mysql_client_library() -> None:
    out = "/bin/sh: 1: mysql_config: not found\nOSError: mysql_config not found\n"
    e = build_failure(uv_report(out), "building mysqlclient 2.1.1 for python3.11 x86_64")
    assert "it needs MySQL/MariaDB client library" in e.message and "(mysql_config not found)" in e.message
    assert e.hint is not None and e.hint.startswith("PyMySQL (pure Python)")


def test_lld_not_finding_libmemcached_names_it_and_pymemcache() -> None:
    e = build_failure(uv_report(LLD_MEMCACHED), "building pylibmc 1.6.3 for python3.12 x86_64")
    assert e.message == (f"building pylibmc 1.6.3 for python3.12 x86_64: it needs libmemcached, {NOT_PROVIDED} "
                         "(library -lmemcached not found)")
    assert e.hint is not None and e.hint.startswith("pymemcache (pure Python) instead of pylibmc")


def test_lld_not_finding_a_dash_l_library() -> None:
    e = build_failure("ld.lld: error: unable to find library -lpq\n", DOING)
    assert "it needs libpq" in e.message and "(library -lpq not found)" in e.message


def test_the_wrappers_refusal_names_the_library_of_the_refused_directory() -> None:
    line = f"      {buildfailure.REFUSED}-I/usr/include/postgresql\n"
    e = build_failure(uv_report(line + C_SYNTAX), DOING)  # the refusal wins over what followed it
    assert e.message == (f"{DOING}: it needs libpq (PostgreSQL's client library), {NOT_PROVIDED} "
                         "(its build asked for the build machine's -I/usr/include/postgresql)")
    assert e.hint is not None and e.hint.startswith("psycopg2-binary")


def test_a_rust_build_is_refused_as_rust() -> None:
    e = build_failure(uv_report(SETUPTOOLS_RUST), "building orjson 3.9.0 for python3.12 arm64")
    assert e.message == rust_refusal("building orjson 3.9.0 for python3.12 arm64").message
    assert "Rust extension" in e.message and "C and C++ only" in e.message
    assert e.hint is not None and "maturin build --zig --target <arch>-unknown-linux-gnu" in e.hint


def test_an_unrelated_failure_quotes_the_error_and_claims_no_library() -> None:
    e = build_failure(uv_report(C_SYNTAX), "building demo 1.0 for python3.12 x86_64")
    assert e.message.startswith("building demo 1.0 for python3.12 x86_64 failed: ")
    assert "src/demo.c:1:23: error: expected ';' after return statement" in e.message
    assert "it needs" not in e.message and NOT_PROVIDED not in e.message
    assert e.hint is not None and e.hint.startswith("run with -v to see the build's output")
    assert "psycopg2" not in e.hint and "lxml" not in e.hint


def test_a_failure_without_error_lines_quotes_the_last_lines() -> None:
    e = build_failure("step one\nstep two\nKilled\n", "building demo 1.0 for python3.12 x86_64")
    assert e.message == "building demo 1.0 for python3.12 x86_64 failed: step one; step two; Killed"
    assert build_failure("", "building demo").message == "building demo failed: no output"


def test_a_header_of_no_known_library_is_named_as_it_is() -> None:
    e = build_failure("x.c:1:10: fatal error: 'snowflake.h' file not found\n", "building demo 1.0")
    assert e.message == f"building demo 1.0: it needs snowflake.h, {NOT_PROVIDED} (header snowflake.h not found)"
    assert e.hint is not None and e.hint.startswith(OPTIONS_START)


# --- answers that were once wrong (library names, quoting, a damaged member) -------------------------


def test_a_missing_libzstd_is_not_called_zlib() -> None:
    e = build_failure("error: unable to find dynamic system library 'zstd' using strategy 'paths_first'.\n",
                      "building demo 1.0")
    assert "zlib" not in e.message and "Pillow" not in (e.hint or "")


def test_a_missing_libldap_is_named_openldap() -> None:
    e = build_failure("error: unable to find dynamic system library 'ldap' using strategy 'paths_first'.\n",
                      "building python-ldap 3.4.4")
    assert "it needs OpenLDAP" in e.message and "-lldap" in e.message


def test_zig_0_17s_library_message_is_recognised() -> None:
    out = 'error: unable to find dynamic system library "memcached" using strategy paths_first. searched paths: none\n'
    e = build_failure(uv_report(out), "building pylibmc 1.6.3")
    assert "it needs libmemcached" in e.message


# --- zig's own messages, produced here -----------------------------------------------------------


def _zig_output(zig: Zig, tmp: Path, source: str, *args: str) -> str:
    (tmp / "x.c").write_text(source, encoding="utf-8")
    res = subprocess.run(zig.cc("x86_64-linux-gnu.2.34", ["-O2", "-fPIC", *args, "x.c"]), capture_output=True,
                         text=True, timeout=300, cwd=tmp)
    assert res.returncode != 0
    return res.stdout + res.stderr


def test_zigs_real_missing_header_message(zig: Zig, tmp_path: Path) -> None:
    out = _zig_output(zig, tmp_path, "#include <libpq-fe.h>\n", "-c", "-o", "x.o")
    assert "fatal error: 'libpq-fe.h' file not found" in out  # the format the literal copies use
    e = build_failure(uv_report(out), DOING)
    assert "it needs libpq" in e.message and "(header libpq-fe.h not found)" in e.message


def test_zigs_real_syntax_error_is_quoted(zig: Zig, tmp_path: Path) -> None:
    out = _zig_output(zig, tmp_path, "int f(void) { return 1 }\n", "-c", "-o", "x.o")
    e = build_failure(uv_report(out), "building demo 1.0")
    assert "x.c:1:23: error: expected ';' after return statement" in e.message
    assert NOT_PROVIDED not in e.message


def test_zigs_real_missing_library_message_reaches_a_known_answer_or_the_raw_error(
        zig: Zig, tmp_path: Path) -> None:
    out = _zig_output(zig, tmp_path, "int f(void) { return 1; }\n", "-shared", "-lmemcached", "-o", "x.so")
    assert "memcached" in out
    e = build_failure(uv_report(out), "building pylibmc 1.6.3")
    # Whatever the wording, the user sees the library's name.
    assert "memcached" in e.message
