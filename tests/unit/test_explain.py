"""explain(): Lambda error text in, causes and fixes out.

Samples are written the way Lambda, CPython and glibc print them (including glibc's
`...' quoting and the runtime's [ERROR] prefix); assertions check codes and the
specific facts each explanation must carry, not whole sentences.
"""

from __future__ import annotations

import json

import pytest

from lambdapack.explain.causes import explain
from lambdapack.explain.model import CODES, Explanation
from lambdapack.explain.render import render_text

REQ = "8a1b2c3d-1111-2222-3333-444455556666"


def codes(text: str) -> list[str]:
    return [e.code for e in explain(text)]


def one(text: str) -> Explanation:
    found = explain(text)
    assert len(found) == 1, [e.code for e in found]
    return found[0]


# ---------------------------------------------------------------- 1. native extensions


@pytest.mark.parametrize(
    ("module", "dist"),
    [
        ("pydantic_core._pydantic_core", "pydantic-core"),
        ("numpy.core._multiarray_umath", "numpy"),
        ("numpy._core._multiarray_umath", "numpy"),
        ("_cffi_backend", "cffi"),
        ("cryptography.hazmat.bindings._rust", "cryptography"),
        ("orjson.orjson", "orjson"),
        ("lxml.etree", "lxml"),
        ("psycopg2._psycopg", "psycopg2"),
        ("charset_normalizer.md", "charset-normalizer"),
    ],
)
def test_native_extension_reported_missing(module: str, dist: str) -> None:
    text = (
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': "
        f"No module named '{module}'\nTraceback (most recent call last):"
    )
    e = one(text)
    assert e.code == "EX001"
    assert module in e.cause and dist in e.cause
    assert e.confirm.startswith("lambdapack check function.zip --runtime ")
    assert "LP001" in e.confirm and "LP002" in e.confirm and "LP005" in e.confirm
    assert e.fix.startswith("lambdapack build ") and "--arch " in e.fix


def test_numpy_c_extension_banner() -> None:
    text = (
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': Unable to import required "
        "dependencies:\nnumpy: Error importing numpy: you should not try to import numpy from\n"
        "IMPORTANT: PLEASE READ THIS FOR ADVICE ON HOW TO SOLVE THIS ISSUE!\n"
        "Importing the numpy C-extensions failed. This error can happen for\n"
    )
    assert "EX001" in codes(text)


# ---------------------------------------------------------------- 2. missing modules


def test_plain_missing_module() -> None:
    e = one(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'requests'"
    )
    assert e.code == "EX002"
    assert "requests" in e.title and "requests" in e.fix
    assert "python/lib/pythonX.Y/site-packages/" in e.cause and "zip root" in e.cause
    assert "lambdapack check function.zip" in e.confirm


def test_missing_module_uses_pypi_name() -> None:
    e = one("ModuleNotFoundError: No module named 'yaml'")
    assert e.code == "EX002" and "PyYAML" in e.fix


def test_missing_submodule_is_a_version_or_shadowing_problem() -> None:
    e = one("ModuleNotFoundError: No module named 'requests.packages'")
    assert e.code == "EX002" and "version" in e.cause and "shadowing" in e.cause


def test_handler_module_not_at_zip_root() -> None:
    e = one(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': "
        "No module named 'lambda_function'"
    )
    assert e.code == "EX003"
    assert "lambda_function.py" in e.cause and "root" in e.cause
    assert "lambdapack build" in e.fix and "handler" in e.fix


# ---------------------------------------------------------------- 3. cannot import name


def test_markupsafe_speedups_partially_initialized() -> None:
    e = one(
        "ImportError: cannot import name '_speedups' from partially initialized module 'markupsafe' "
        "(most likely due to a circular import) (/var/task/markupsafe/__init__.py)"
    )
    assert e.code == "EX004" and "markupsafe" in e.cause and "_speedups" in e.title
    assert "lambdapack build" in e.fix


def test_cannot_import_from_unknown_location() -> None:
    e = one(
        "ImportError: cannot import name 'exceptions' from 'cryptography.hazmat.bindings._rust' "
        "(unknown location)"
    )
    assert e.code == "EX004" and "unknown location" in e.cause


def test_cannot_import_public_name_is_not_a_native_problem() -> None:
    # A circular import in user code is not something a rebuild fixes.
    assert explain("ImportError: cannot import name 'helper' from partially initialized module 'app'") == []


# ---------------------------------------------------------------- 4. glibc / libstdc++


def test_glibc_version_with_backtick_quote() -> None:
    text = (
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': /lib64/libc.so.6: "
        "version `GLIBC_2.28' not found (required by /var/task/cryptography/hazmat/bindings/_rust.abi3.so)"
    )
    e = one(text)
    assert e.code == "EX005"
    assert "2.28" in e.title and "2.28" in e.cause
    assert "2.26" in e.cause and "2.34" in e.cause
    assert "/var/task/cryptography/hazmat/bindings/_rust.abi3.so" in e.cause
    assert "lambdapack build . --runtime" in e.fix and "python3.12" in e.fix
    assert "LP003" in e.confirm and "--layer" not in e.confirm


def test_glibc_plain_quotes_in_layer_infers_runtime() -> None:
    e = one(
        "OSError: /lib64/libc.so.6: version 'GLIBC_2.33' not found "
        "(required by /opt/python/lib/python3.11/site-packages/tokenizers/tokenizers.abi3.so)"
    )
    assert e.code == "EX005" and "2.33" in e.cause
    assert "--runtime python3.11" in e.confirm and "--layer" in e.confirm
    assert "python3.11, has glibc 2.26" in e.cause
    assert "lambdapack build --layer --runtime python3.11" in e.fix


def test_glibcxx() -> None:
    e = one(
        "ImportError: /lib64/libstdc++.so.6: version `GLIBCXX_3.4.26' not found "
        "(required by /var/task/pyarrow/libarrow.so.1500)"
    )
    assert e.code == "EX006" and "GLIBCXX_3.4.26" in e.title
    assert "GLIBCXX_3.4.24" in e.cause and "GLIBCXX_3.4.29" in e.cause
    assert "LP004" in e.confirm


def test_cxxabi() -> None:
    e = one("/usr/lib64/libstdc++.so.6: version `CXXABI_1.3.13' not found (required by /var/task/x.so)")
    assert e.code == "EX006" and "CXXABI_1.3.13" in e.title


# ---------------------------------------------------------------- 5. shared libraries


def test_libpq_missing_suggests_binary_wheel() -> None:
    e = one(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': "
        "libpq.so.5: cannot open shared object file: No such file or directory"
    )
    assert e.code == "EX007" and "libpq.so.5" in e.title
    assert "psycopg2-binary" in e.fix and "/opt/lib" in e.fix and "/var/task/lib" in e.fix


def test_other_missing_library() -> None:
    e = one("OSError: libzstd.so.1: cannot open shared object file: No such file or directory")
    assert e.code == "EX007" and "libzstd.so.1" in e.fix and "lib/" in e.fix


# ---------------------------------------------------------------- 6. bad binaries


def test_invalid_elf_header_macos_wheel() -> None:
    e = one(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': "
        "/var/task/pydantic_core/_pydantic_core.cpython-312-darwin.so: invalid ELF header"
    )
    assert e.code == "EX008" and "_pydantic_core.cpython-312-darwin.so" in e.title
    assert "macOS" in e.cause and "LP001" in e.confirm


def test_wrong_elf_class() -> None:
    e = one("OSError: /var/task/bin/libfoo.so: wrong ELF class: ELFCLASS32")
    assert e.code == "EX009" and "32-bit" in e.title and "LP002" in e.confirm


def test_so_itself_cannot_be_opened_means_other_arch_and_infers_arch() -> None:
    e = one(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': "
        "/var/task/orjson/orjson.cpython-311-aarch64-linux-gnu.so: cannot open shared object file: "
        "No such file or directory"
    )
    assert e.code == "EX009"
    # The aarch64 file was refused, so the function is x86_64.
    assert "--arch x86_64" in e.confirm and "--arch x86_64" in e.fix


def test_exec_format_error() -> None:
    e = one("OSError: [Errno 8] Exec format error: '/var/task/bin/ffmpeg'")
    assert e.code == "EX009" and "/var/task/bin/ffmpeg" in e.title


def test_misaligned_elf_from_strip() -> None:
    e = one(
        "ImportError: /var/task/numpy/core/_multiarray_umath.cpython-39-x86_64-linux-gnu.so: "
        "ELF load command address/offset not properly aligned"
    )
    assert e.code == "EX010" and "strip" in e.cause and "strip" in e.fix
    assert "--arch x86_64" in e.fix and "--runtime <python3.N>" in e.fix


# ---------------------------------------------------------------- 7. handler and syntax


def test_user_code_syntax_error() -> None:
    e = one(
        "[ERROR] Runtime.UserCodeSyntaxError: Syntax error in module 'lambda_function': "
        "invalid syntax (lambda_function.py, line 3)\nTraceback (most recent call last):\n"
        '  File "/var/task/lambda_function.py" Line 3\n        match event:\n'
    )
    assert e.code == "EX011" and "lambda_function.py, line 3" in e.title
    assert "py_compile lambda_function.py" in e.confirm


def test_handler_missing_on_module() -> None:
    e = one("[ERROR] Runtime.HandlerNotFound: Handler 'lambda_handler' missing on module 'app'")
    assert e.code == "EX012"
    assert "app.lambda_handler" in e.cause and "--handler app." in e.fix


def test_malformed_handler() -> None:
    e = one(
        "[ERROR] Runtime.MalformedHandlerName: Bad handler 'lambda_function': "
        "not enough values to unpack (expected 2, got 1)"
    )
    assert e.code == "EX012"


def test_other_import_failure_is_generic() -> None:
    e = one(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': "
        "Missing required environment variable TABLE_NAME"
    )
    assert e.code == "EX016" and "TABLE_NAME" in e.cause and "import app" in e.confirm


def test_bare_error_type_only_when_nothing_better() -> None:
    report = (
        "INIT_REPORT Init Duration: 812.41 ms\tPhase: init\tStatus: error\t"
        "Error Type: Runtime.ImportModuleError"
    )
    assert codes(report) == ["EX016"]
    full = (
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'jwt'\n" + report
    )
    assert codes(full) == ["EX002"]


# ---------------------------------------------------------------- 8. size limits


@pytest.mark.parametrize(
    "text",
    [
        "An error occurred (InvalidParameterValueException) when calling the UpdateFunctionCode "
        "operation: Unzipped size must be smaller than 262144000 bytes",
        "An error occurred (InvalidParameterValueException) when calling the UpdateFunctionConfiguration "
        "operation: Layers consume more than the available size of 262144000 bytes",
        "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes.",
    ],
)
def test_unzipped_size(text: str) -> None:
    e = one(text)
    assert e.code == "EX013" and "262144000" in e.cause and "LP101" in e.confirm


def test_request_too_large() -> None:
    e = one(
        "An error occurred (RequestEntityTooLargeException) when calling the CreateFunction operation: "
        "Request must be smaller than 69905067 bytes for the CreateFunction operation"
    )
    assert e.code == "EX014" and "S3" in e.fix and "50 MiB" in e.cause and "LP102" in e.confirm


# ---------------------------------------------------------------- 9. permissions


def test_permission_denied_in_var_task() -> None:
    e = one(
        "[ERROR] PermissionError: [Errno 13] Permission denied: '/var/task/lambda_function.py'\n"
        "Traceback (most recent call last):"
    )
    assert e.code == "EX015" and "/var/task/lambda_function.py" in e.title
    assert "o+r" in e.cause and "0644" in e.fix and "0755" in e.fix


def test_layer_conversion_failed() -> None:
    e = one(
        "An error occurred (InvalidParameterValueException) when calling the PublishLayerVersion "
        "operation: Layer conversion failed: Some files do not have read permissions"
    )
    assert e.code == "EX015"


def test_urllib3_openssl() -> None:
    e = one(
        "ImportError: urllib3 v2.0 only supports OpenSSL 1.1.1+, currently the 'ssl' module is compiled "
        "with 'OpenSSL 1.0.2k-fips  26 Jan 2017'. See: https://github.com/urllib3/urllib3/issues/2168"
    )
    assert e.code == "EX017" and "urllib3<2" in e.fix


# ---------------------------------------------------------------- formats


def test_cloudwatch_excerpt_with_several_problems_in_order() -> None:
    log = "\n".join(
        [
            "INIT_START Runtime Version: python:3.11.v47\tRuntime Version ARN: "
            "arn:aws:lambda:eu-west-1::runtime:0123abcd",
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': "
            "No module named 'pydantic_core._pydantic_core'\rTraceback (most recent call last):",
            "INIT_REPORT Init Duration: 401.17 ms\tPhase: init\tStatus: error\t"
            "Error Type: Runtime.ImportModuleError",
            f"START RequestId: {REQ} Version: $LATEST",
            f"2024-05-01T10:00:01.123Z\t{REQ}\t[ERROR] Runtime.ImportModuleError: Unable to import module "
            "'lambda_function': No module named 'pydantic_core._pydantic_core'",
            f"END RequestId: {REQ}",
            f"REPORT RequestId: {REQ}\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB",
            "[ERROR] ImportError: /lib64/libc.so.6: version `GLIBC_2.28' not found (required by "
            "/var/task/cryptography/hazmat/bindings/_rust.abi3.so)\rTraceback (most recent call last):\r"
            '  File "/var/task/lambda_function.py", line 4, in <module>\r    import jwt',
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': "
            "No module named 'requests'",
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': /lib64/libc.so.6: "
            "version `GLIBC_2.28' not found (required by /var/task/cryptography/hazmat/bindings/_rust.abi3.so)",
        ]
    )
    found = explain(log)
    assert [e.code for e in found] == ["EX001", "EX005", "EX002"]
    assert "pydantic_core._pydantic_core" in found[0].cause
    assert "2.28" in found[1].cause and "python3.11, has glibc 2.26" in found[1].cause
    assert "requests" in found[2].title
    for e in found:
        assert "--runtime python3.11" in e.confirm
    # The event prefix (timestamp, request id) is not part of the matched line.
    assert found[0].matched.startswith("[ERROR] Runtime.ImportModuleError")


def test_json_log_line() -> None:
    record = {
        "timestamp": "2024-05-01T10:00:00Z",
        "level": "ERROR",
        "errorMessage": "Unable to import module 'lambda_function': No module named 'orjson.orjson'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    e = one(json.dumps(record))
    assert e.code == "EX001" and "orjson" in e.cause
    assert e.matched.startswith("Runtime.ImportModuleError: Unable to import module")


def test_json_platform_records() -> None:
    lines = [
        json.dumps(
            {
                "time": "2024-05-01T10:00:00.000Z",
                "type": "platform.initStart",
                "record": {"runtimeVersion": "python:3.13.v20", "phase": "init"},
            }
        ),
        json.dumps(
            {
                "timestamp": "2024-05-01T10:00:00Z",
                "log_level": "ERROR",
                "errorMessage": "Unable to import module 'app': libGL.so.1: cannot open shared object file: "
                "No such file or directory",
                "errorType": "Runtime.ImportModuleError",
                "stackTrace": [],
            }
        ),
        json.dumps(
            {
                "time": "2024-05-01T10:00:00.500Z",
                "type": "platform.initReport",
                "record": {"phase": "init", "status": "error", "errorType": "Runtime.ImportModuleError"},
            }
        ),
    ]
    e = one("\n".join(lines))
    assert e.code == "EX007" and "opencv-python-headless" in e.fix
    assert "--runtime python3.13" in e.fix


def test_traceback_block_infers_runtime_and_arch() -> None:
    # The loader checks the machine before alignment, so the named aarch64 file is the host's arch.
    text = """Traceback (most recent call last):
  File "/var/lang/lib/python3.12/importlib/__init__.py", line 90, in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
  File "/var/task/app.py", line 2, in <module>
    import lxml.etree
  File "/var/task/lxml/__init__.py", line 1, in <module>
ImportError: /var/task/lxml/etree.cpython-312-aarch64-linux-gnu.so: ELF load command address/offset not page-aligned
"""
    e = one(text)
    assert e.code == "EX010"
    assert "--runtime python3.12 --arch arm64" in e.confirm
    assert "--runtime python3.12 --arch arm64" in e.fix


def test_escaped_newlines() -> None:
    text = (
        "\"[ERROR] Runtime.ImportModuleError: Unable to import module \\'handler\\': "
        "No module named \\'_cffi_backend\\'\\nTraceback (most recent call last):\\n"
        '  File \\"/opt/python/lib/python3.10/site-packages/nacl/__init__.py\\", line 1"'
    )
    e = one(text)
    assert e.code == "EX001" and "cffi" in e.cause
    assert "--runtime python3.10" in e.fix


def test_conflicting_arch_evidence_gives_placeholder() -> None:
    text = (
        "/lib64/libc.so.6: version `GLIBC_2.28' not found (required by /var/task/a-x86_64-linux-gnu.so)\n"
        "/lib64/libc.so.6: version `GLIBC_2.28' not found (required by /var/task/b-aarch64-linux-gnu.so)\n"
    )
    found = explain(text)
    assert [e.code for e in found] == ["EX005", "EX005"]
    assert all("--arch <x86_64|arm64>" in e.fix for e in found)


# ---------------------------------------------------------------- output


def test_unknown_text() -> None:
    assert explain("") == []
    assert explain("Task timed out after 3.00 seconds") == []
    out = render_text([])
    assert "not recognised" in out and "lambdapack check PATH --runtime" in out and "--arch" in out


def test_render_and_as_dict() -> None:
    found = explain("ModuleNotFoundError: No module named 'requests'")
    out = render_text(found)
    assert "EX002" in out and "cause:" in out and "fix:" in out and "confirm:" in out
    d = found[0].as_dict()
    assert set(d) == {"code", "title", "matched", "cause", "confirm", "fix"}
    assert all(isinstance(v, str) for v in d.values())


def test_matched_is_clipped() -> None:
    e = one("ModuleNotFoundError: No module named 'requests' " + "x" * 1000)
    assert len(e.matched) <= 300


def test_every_code_documented() -> None:
    assert sorted(CODES) == [f"EX{n:03d}" for n in range(1, len(CODES) + 1)]


def test_macos_file_names_do_not_set_arch() -> None:
    e = one("ImportError: /var/task/_brotli.cpython-311-darwin-arm64.so: invalid ELF header")
    assert e.code == "EX008" and "--arch <x86_64|arm64>" in e.fix


def test_eacces_and_handler_not_found_bare() -> None:
    assert codes("Error: EACCES: permission denied, open '/var/task/index.py'") == ["EX015"]
    assert codes("[ERROR] Runtime.HandlerNotFound: lambda_function.handler is undefined or not exported") == [
        "EX012"
    ]


# ------------------------------------------------------------- bounded, hostile input

import os  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from lambdapack.explain.logtext import DEFAULT_MAX_BYTES, keep_tail  # noqa: E402


def test_keep_tail_keeps_the_last_bytes_from_a_whole_line() -> None:
    chunks = [b"first line\nsecond ", b"line\nthird line\n"]
    data, total = keep_tail(chunks, 1 << 20)
    assert (data, total) == (b"first line\nsecond line\nthird line\n", 34)
    data, total = keep_tail(chunks, 20)
    # The cut fell inside "second line": that partial line goes, "third line" stays.
    assert (data, total) == (b"third line\n", 34)


def test_keep_tail_holds_at_most_the_limit_plus_one_chunk() -> None:
    def stream() -> Iterator[bytes]:
        for _ in range(20_000):  # 20 MB, made one chunk at a time
            yield b"x" * 999 + b"\n"

    tracemalloc.start()
    try:
        data, total = keep_tail(stream(), 64 * 1024)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 20_000_000 and len(data) <= 64 * 1024 and data.endswith(b"x\n")
    assert peak < 1024 * 1024, peak  # the tail, one chunk, the join: never the 20 MB


def test_random_bytes_decode_and_match_quickly() -> None:
    text = os.urandom(DEFAULT_MAX_BYTES).decode("utf-8", "replace")
    # CPU time of this process (the work done), not wall-clock time (the machine's load).
    start = time.process_time()
    explain(text)
    took = time.process_time() - start
    print(f"explain of {DEFAULT_MAX_BYTES} random bytes: {took:.2f} s of CPU")
    assert took < 15  # 0.6 s here; 4.6 s before the per-rule words


@pytest.mark.parametrize(
    "line",
    [
        "a/" * 500_000 + ": cannot open shared object file",
        "lib" * 300_000 + ": cannot open shared object file",
        "/a" * 500_000 + " invalid ELF header",
        "x" * 3000 + " cannot open shared object file invalid ELF header wrong ELF class: ELFCLASS32",
    ],
)
def test_long_hostile_lines_are_linear(line: str) -> None:
    start = time.process_time()  # CPU time: the work, not the machine's load
    explain(line * (1 if len(line) > 10_000 else 1000))
    took = time.process_time() - start
    print(f"hostile line of {len(line)} characters: {took:.2f} s of CPU")
    assert took < 15  # each took minutes with the unanchored path patterns


def test_paths_before_loader_messages_are_still_the_first_slash_of_the_word() -> None:
    e = one("OSError: x:/var/task/a/b/_c.so: invalid ELF header")
    assert e.code == "EX008" and "/var/task/a/b/_c.so is not a Linux binary" in e.title
    e = one("/opt/python/lib/libfoo.so.1: cannot open shared object file: No such file or directory")
    assert "/opt/python/lib/libfoo.so.1" in e.matched
    assert codes("ImportError: libgomp-a34b3233.so.1: cannot open shared object file") == ["EX007"]
