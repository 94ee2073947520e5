"""One copy of each fact: the tables the code reads are the ones the README and --help show.

Exit codes (errors.EXIT_CODES), rule codes (rulebook.RULES), the runtime-provided SDK
(sdk), ELF machine numbers (machines), handler parsing and the layer roots (layout),
and the --exclude/--keep matcher (patterns), each checked against what reads it.
"""

from __future__ import annotations

import platform
import re
import sys
import zipfile
from pathlib import Path

import pytest

from lambdapack.assemble.patterns import PathPattern
from lambdapack.assemble.stage import SourceOptions, source_entries
from lambdapack.cli.main import main
from lambdapack.errors import COMMAND_COLUMNS, EXIT_CODES, BuildError, InputError, UsageError, exit_codes_help
from lambdapack.facts import sdk
from lambdapack.facts.layout import VERSIONED_DIR_RE, LambdaFile, LambdaView, parse_handler
from lambdapack.facts.machines import EM_AARCH64, EM_X86_64, MACHINE_NAMES
from lambdapack.facts.runtimes import Arch, get_arch, get_runtime
from lambdapack.inspect.elf.loadheaders import read_load_headers
from lambdapack.inspect.elf.model import ELFInvalid
from lambdapack.inspect.elf.reader import read_elf_file
from lambdapack.inspect.rulebook import RULES
from lambdapack.inspect.rules import handler_rule, shadowing
from lambdapack.target.tags import Target

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SRC = ROOT / "src" / "lambdapack"
COMMANDS = ("build", "check", "smoke", "why", "explain", "tags", "cache")


def _table_after(heading: str) -> list[list[str]]:
    """The rows (cells, backticks removed) of the first Markdown table after `heading`."""
    rest = README[README.index(heading):]
    lines = rest[rest.index("\n|"):].lstrip("\n").splitlines()
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([c.strip().replace("`", "") for c in line.strip().strip("|").split("|")])
    return [rows[0], *rows[2:]]  # without the |---| line


# --- exit codes ---------------------------------------------------------------------


def test_readme_exit_code_table_is_the_table() -> None:
    header, *rows = _table_after("### Exit codes")
    assert tuple(header[1:]) == COMMAND_COLUMNS
    readme = {int(r[0]): {col: cell for col, cell in zip(COMMAND_COLUMNS, r[1:], strict=True) if cell != "—"}
              for r in rows}
    assert readme == {ec.code: ec.meanings for ec in EXIT_CODES}


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_prints_its_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    block = exit_codes_help(command)
    assert block in out  # laid out as the table says, not re-wrapped by argparse
    listed = {int(line.split()[0]) for line in block.splitlines()[1:] if line[:5].strip().isdigit()}
    assert listed == {ec.code for ec in EXIT_CODES if ec.meaning(command) is not None}
    assert (3 in listed) == (command == "smoke")


def test_top_level_help_prints_the_build_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert exit_codes_help("build") in capsys.readouterr().out


def test_error_classes_use_codes_from_the_table() -> None:
    build = {ec.code for ec in EXIT_CODES if ec.meaning("build") is not None}
    assert {UsageError.exit_code, InputError.exit_code, BuildError.exit_code} <= build
    assert UsageError.exit_code == InputError.exit_code == 2 and BuildError.exit_code == 1


# --- rule codes ---------------------------------------------------------------------


def _expand(cell: str) -> list[str]:
    m = re.fullmatch(r"LP(\d{3})–LP(\d{3})", cell)
    if m:
        return [f"LP{n:03d}" for n in range(int(m.group(1)), int(m.group(2)) + 1)]
    return [cell]


def test_readme_rule_table_lists_exactly_the_registry() -> None:
    header, *rows = _table_after("Rules (stable codes;")
    assert header == ["code", "severity", "what"]
    listed: list[str] = []
    for code_cell, severity, _what in rows:
        codes = _expand(code_cell)
        listed += codes
        # A range row gives the severities of the range as a whole.
        registered = set().union(*(RULES[c].severities for c in codes if c in RULES))
        assert set(severity.split("/")) == registered, code_cell
    assert sorted(listed) == sorted(RULES)  # each code once, none missing, none extra


def test_every_finding_in_the_source_uses_a_registered_code_and_severity() -> None:
    sev = {"ERROR": "error", "WARNING": "warning", "INFO": "info"}
    seen = 0
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for code in re.findall(r'"(LP\d{3})"', text):
            assert code in RULES, f"{path.name}: {code} is not in rulebook.RULES"
        for code, level in re.findall(r'"(LP\d{3})",\s*(ERROR|WARNING|INFO)\b', text):
            assert sev[level] in RULES[code].severities, f"{path.name}: {code} as {level}"
            seen += 1
    assert seen > 30  # the scan found the rules (a changed call style would silently pass)


# --- the runtime-provided SDK -------------------------------------------------------


def _view(names: list[str]) -> LambdaView:
    view = LambdaView(get_runtime("python3.12"))
    for n in names:
        data = b"x = 1\n"
        view.add(LambdaFile(f"/var/task/{n}", n, "function", len(data), 0o644, None,
                            lambda d=data: d, lambda k, d=data: d[:k]))
    return view


def test_lp206_reports_the_sdk_not_what_the_runtime_ships_with_it() -> None:
    names = [f"{m}/__init__.py" for m in sdk.INCLUDED_MODULES] + ["requests/__init__.py"]
    got = sorted(f.path for f in shadowing(_view(names)) if f.code == "LP206")
    assert got == ["boto3", "botocore", "jmespath", "s3transfer"]
    assert set(got) == set(sdk.SDK_MODULES)


def test_sdk_lists_are_what_slim_and_smoke_used() -> None:
    from lambdapack.assemble import runtime_provided as slim
    from lambdapack.inspect import smokechild as smoke

    assert slim.RUNTIME_SDK == ("boto3", "botocore", "s3transfer", "jmespath")
    assert slim.RUNTIME_INCLUDED[len(slim.RUNTIME_SDK):] == ("python-dateutil", "six", "urllib3")
    assert smoke.RUNTIME_SDK == ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
    assert slim._included_text() == (
        "boto3 and botocore (with s3transfer, jmespath, python-dateutil, six and urllib3)"
    )


# --- ELF machines and the one ELF reader ----------------------------------------------


def test_lambda_arches_are_entries_of_the_machine_table() -> None:
    assert (Arch.X86_64.elf_machine, Arch.ARM64.elf_machine) == (EM_X86_64, EM_AARCH64) == (62, 183)
    for arch in Arch:
        assert MACHINE_NAMES[arch.elf_machine] == arch.machine


def _host_elf() -> Path:
    exe = Path(sys.executable).resolve()
    if exe.read_bytes()[:4] != b"\x7fELF":
        pytest.skip(f"{exe} is not an ELF file on this host ({platform.system()})")
    return exe


def test_binaries_names_the_host_interpreter_from_the_table() -> None:
    exe = _host_elf()
    info = read_elf_file(exe)
    assert info.machine_name == MACHINE_NAMES.get(info.machine)
    if platform.machine() in ("x86_64", "aarch64", "arm64"):
        assert info.machine == get_arch(platform.machine()).elf_machine


def test_load_headers_of_a_real_file_agree_with_the_parser() -> None:
    exe = _host_elf()
    data = exe.read_bytes()
    view = read_load_headers(data)
    info = read_elf_file(exe)
    assert view.header[:4] == tuple(b"\x7fELF")
    assert view.header[17] == info.machine  # e_machine follows e_ident and e_type
    assert len(view.phdrs) == view.header[-1] > 0  # e_phnum program headers, all read
    assert any(ph[0] == 1 for ph in view.phdrs)  # a PT_LOAD
    with pytest.raises(ELFInvalid, match="program headers outside the file"):
        read_load_headers(data[:64])
    with pytest.raises(ELFInvalid, match="truncated ELF header"):
        read_load_headers(data[:40])
    with pytest.raises(ELFInvalid, match="not an ELF file"):
        read_load_headers(b"MZ" + data[2:64])


# --- handler, layer roots, runtime/arch names -----------------------------------------


@pytest.mark.parametrize(
    ("text", "module", "dotted", "function", "importable"),
    [
        ("lambda_function.lambda_handler", "lambda_function", "lambda_function", "lambda_handler", True),
        ("pkg/mod.handler", "pkg/mod", "pkg.mod", "handler", True),
        ("pkg.mod.handler", "pkg.mod", "pkg.mod", "handler", True),
        ("my-app.handler", "my-app", "my-app", "handler", False),
    ],
)
def test_parse_handler(text: str, module: str, dotted: str, function: str, importable: bool) -> None:
    h = parse_handler(text)
    assert h is not None
    assert (h.module, h.dotted, h.function, h.importable) == (module, dotted, function, importable)


@pytest.mark.parametrize("text", ["handler", ".handler", "app.", ""])
def test_parse_handler_refuses_what_is_not_module_function(text: str) -> None:
    assert parse_handler(text) is None
    [f] = handler_rule(_view(["app.py"]), text)
    assert (f.code, f.message) == ("LP203", f"handler {text!r} is not of the form module.function")


def test_smoke_refuses_a_handler_python_cannot_import(tmp_path: Path) -> None:
    from lambdapack.inspect.smoke import smoke

    target = Target(get_runtime("python3.12"), get_arch("x86_64"))
    with pytest.raises(UsageError, match=r"is not of the form module\.function"):
        smoke(tmp_path / "never-opened.zip", [], target, handler="my-app.handler")


def test_versioned_dir() -> None:
    m = VERSIONED_DIR_RE.match("python/lib/python3.11/site-packages/six.py")
    assert m is not None and m.group(1) == "3.11"
    assert VERSIONED_DIR_RE.match("python/six.py") is None


def test_unknown_runtime_is_a_usage_error_wherever_it_is_raised() -> None:
    with pytest.raises(UsageError) as e:
        get_runtime("python3.99")
    assert e.value.exit_code == 2 and e.value.message.startswith("python3.99 is not supported (supported:")
    with pytest.raises(UsageError, match="unknown architecture 'sparc'"):
        get_arch("sparc")
    with pytest.raises(ValueError):  # still a ValueError for code that catches that
        get_arch("sparc")


def test_check_with_an_unknown_runtime_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    z = tmp_path / "f.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("app.py", "def h(e, c):\n    return 1\n")
    assert main(["check", str(z), "--runtime", "python3.99", "--arch", "x86_64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: python3.99 is not supported (supported: python3.9,")
    assert "Traceback" not in err


# --- one --exclude/--keep matcher -----------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.pyi", "pkg/sub/x.pyi", True),  # no "/": any component
        ("tests", "pkg/tests/t.py", True),
        ("tests/", "pkg/tests/t.py", True),  # a trailing "/" does not anchor (gitignore's reading)
        ("pkg/sub", "pkg/sub/deep/x.py", True),  # a folder takes everything below
        ("pkg/sub", "other/pkg/sub/x.py", False),  # with "/": from the root
        ("app/*", "app/a/b.py", True),  # fnmatch's * crosses "/" (gitignore's would not)
        ("/handler.py", "handler.py", True),
        ("/handler.py", "pkg/handler.py", False),
        ("  *.md  ", "README.md", True),
        ("", "x.py", False),
        ("/", "x.py", False),
        ("*.TXT", "a.txt", False),  # case-sensitive, like zip names
    ],
)
def test_path_pattern(pattern: str, path: str, expected: bool) -> None:
    assert PathPattern(pattern).matches(path) is expected


def test_an_anchored_pattern_also_matches_the_prefixed_name() -> None:
    p = PathPattern("python/pkg/y.txt")
    assert not p.matches("pkg/y.txt")
    assert p.matches("pkg/y.txt", also=("python/pkg/y.txt",))
    assert not PathPattern("python").matches("pkg/y.txt", also=("python/pkg/y.txt",))  # components of the path only


def test_source_tree_and_dependencies_read_a_pattern_the_same_way(tmp_path: Path) -> None:
    from lambdapack.assemble.slim import _matches

    for rel in ("tests/t.py", "pkg/tests/t.py", "pkg/__init__.py", "handler.py", "docs/a/b.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    excludes = ("tests/", "/handler.py", "docs/*")
    kept = sorted(e.arcname for e in source_entries(tmp_path, SourceOptions(extra_excludes=excludes)))
    assert kept == ["pkg/__init__.py"]
    from pathlib import PurePosixPath

    for rel in ("tests/t.py", "pkg/tests/t.py", "pkg/__init__.py", "handler.py", "docs/a/b.md"):
        in_deps = any(_matches(PurePosixPath(rel), rel, p) for p in excludes)
        assert in_deps is (rel not in kept), rel


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("app.py", (None, "app.py")),
        ("layer 1 (deps.zip): python/x.py", ("layer 1 (deps.zip)", "python/x.py")),
        ("layer 2 (my(1).zip): python/y.so", ("layer 2 (my(1).zip)", "python/y.so")),
        ("layer 3 (built): python/a: b.txt", ("layer 3 (built)", "python/a: b.txt")),
        ("layer x: y", (None, "layer x: y")),  # a function file that only looks like a prefix
    ],
)
def test_one_reading_of_a_findings_layer_prefix(shown: str, expected: tuple[str | None, str]) -> None:
    from lambdapack.facts.layout import split_shown

    assert split_shown(shown) == expected
