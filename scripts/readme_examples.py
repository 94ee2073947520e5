"""Regenerate (--write) or verify (--check) the README's example outputs from real runs.

An output block in README.md is generated when the line before its fence is
`<!-- example: NAME -->` (an HTML comment: GitHub does not render it); NAME is one of
EXAMPLES below, which records the commands. A block kept by hand says why on its
marker: `<!-- example: not generated: needs a read-only mount -->`.

Each example runs `python -m lambdapack` (the interpreter running this script) in a
subprocess, in a fresh temporary directory holding copies of the example folders it
needs, with a clean environment: none of this machine's LAMBDAPACK_*, PIP_*, PYTHON*
or UV_* settings, no pip config, COLUMNS=100, NO_COLOR=1, its own empty lambdapack
cache (so a build is a cold build, never "cached") and uv's resolution frozen at
RESOLVED_AS_OF (UV_EXCLUDE_NEWER), so a new release on PyPI does not make the README
stale by itself. Only stdout is shown, except for the steps that show an error: their error:/hint: lines.

What changes from run to run on its own is normalised (SUBSTITUTIONS): the temporary
directory becomes /home/me/project, durations become N.Ns / N.N ms, uv's version X.Y.Z.

    python scripts/readme_examples.py --write   # rewrite the blocks
    python scripts/readme_examples.py --check   # exit 1 with a diff when a block is stale
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SHOWN_ROOT = "/home/me/project"
RESOLVED_AS_OF = "2026-12-01T00:00:00Z"
MARKER = re.compile(r"^<!-- example: (?P<name>[^>]*?) -->$")
NOT_GENERATED = "not generated: "


@dataclass(frozen=True)
class Step:
    """One `lambdapack ARGS` command as the README shows it, and what of its output to show."""

    args: tuple[str, ...]
    stream: str = "stdout"  # "stderr" for the error examples
    pipe: str = ""  # "head -N" or "wc -l", applied here (no shell, so it runs on Windows too)
    trim: tuple[int, int] | None = None  # keep the first and last N lines, "…" between
    note: str = ""  # a comment after the command
    stdin: str | None = None


@dataclass(frozen=True)
class Write:
    """A small file the next steps read, written here and shown as the `printf` that would write it."""

    path: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    name: str
    steps: tuple[Step | Write, ...]
    copies: Mapping[str, str] = field(default_factory=dict)  # repo folder -> folder in the temp dir
    cwd: str = "."
    network: bool = False


HELLO = {"examples/hello": "examples/hello"}
HELLO_BUILD = ("build", "examples/hello", "--runtime", "python3.12", "--arch", "arm64", "-o", "dist/hello-arm64.zip")
NUMPY_311 = "numpy-2.3.5-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
WHY_311 = (NUMPY_311, "--runtime", "python3.11", "--arch", "x86_64")
PYDANTIC_LOG = ("[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': "
                "No module named 'pydantic_core._pydantic_core'")

EXAMPLES: tuple[Example, ...] = (
    Example("tags-why", (
        Step(("tags", "--runtime", "python3.12", "--arch", "arm64"), pipe="head -3"),
        Step(("tags", "--runtime", "python3.12", "--arch", "arm64"), pipe="wc -l"),
        Step(("why", *WHY_311)),
        Step(("why", "pydantic_core-2.41.5-cp312-cp312-macosx_11_0_arm64.whl", "--runtime", "python3.12",
              "--arch", "arm64")),
        Step(("why", "orjson-3.11.4-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
              "--runtime", "python3.12", "--arch", "arm64")),
        Step(("why", *WHY_311, "--format", "json")),
    )),
    Example("why-requirement", (
        Step(("why", "numpy>=2,<2.2", "--runtime", "python3.9", "--arch", "x86_64")),
    ), network=True),
    Example("build-hello", (
        Step(HELLO_BUILD),
        Step((*HELLO_BUILD, "-q"), note="one line: path, CodeSha256, size"),
    ), copies=HELLO, network=True),
    Example("check-hello", (
        Step((*HELLO_BUILD, "-qq"), note="nothing but errors"),
        Step(("check", "dist/hello-arm64.zip", "--handler", "lambda_function.lambda_handler")),
        Step(("check", "dist/hello-arm64.zip", "--runtime", "python3.12", "--arch", "x86_64"), trim=(6, 1)),
    ), copies=HELLO, network=True),
    Example("held-back", (
        Write("requirements.txt", ("numpy", "cryptography")),
        Step(("build", "--layer", "--runtime", "python3.11", "--arch", "x86_64", "-r", "requirements.txt",
              "-o", "layer-py311.zip"), trim=(16, 0)),
    ), network=True),
    Example("errors", (
        Write("requirements.txt", ("numpy==2.4.6",)),
        Step(("build", "--layer", "--runtime", "python3.11", "--arch", "arm64", "-r", "requirements.txt"),
             stream="stderr"),
        Write("requirements.txt", ("six",)),
        Step(("build", "--layer", "--runtime", "python3.8", "--arch", "x86_64", "-r", "requirements.txt"),
             stream="stderr"),
        Step(("build", "--layer", "--runtime", "python3.12", "--arch", "x86_64", "-r", "requirements.txt",
              "--runtime", "python3.13"), stream="stderr"),
        Step(("build", "--layer", "--runtime", "python3.12", "--arch", "x86_64", "-r", "requirements.txt",
              "--index-url", "pypi.org/simple"), stream="stderr"),
        Write("requirements.txt", ("nonexistent-pkg-zzqq",)),
        Step(("build", "--layer", "--runtime", "python3.12", "--arch", "arm64", "-r", "requirements.txt"),
             stream="stderr"),
        Write("requirements.txt", ("six", "numpy bogus")),
        Step(("build", "--layer", "--runtime", "python3.12", "--arch", "x86_64", "-r", "requirements.txt"),
             stream="stderr"),
    ), network=True),
    Example("project", (
        Step(("build",)),
    ), copies={"examples/project": "."}, network=True),
    Example("explain", (
        Step(("explain", PYDANTIC_LOG), trim=(1, 2)),
    )),
)

# (pattern, replacement): what differs between two runs of the same example on its own.
SUBSTITUTIONS: tuple[tuple[str, str], ...] = (
    (r"(?<![\w.])\d+(?:\.\d+)? ms\b", "N.N ms"),  # import and step times
    (r"(?<![\w.])\d+(?:\.\d+)?s\b", "N.Ns"),  # "rebuilt 0.4s"
    (r"\buv \d+\.\d+\.\d+\b", "uv X.Y.Z"),
)


def child_env(home: Path) -> dict[str, str]:
    """The environment of every example: this machine's settings left out, the output fixed."""
    keep = {"PATH", "HOME", "USERPROFILE", "SYSTEMROOT", "COMSPEC", "PATHEXT", "LOCALAPPDATA", "APPDATA",
            "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR", "XDG_CACHE_HOME",
            "UV_CACHE_DIR", "PYENV_ROOT"}
    proxy = re.compile(r"^(https?|no|all)_proxy$", re.IGNORECASE)
    env = {k: v for k, v in os.environ.items() if k in keep or proxy.match(k)}
    env.update({
        "COLUMNS": "100", "NO_COLOR": "1", "PIP_CONFIG_FILE": os.devnull,
        "LAMBDAPACK_CACHE_DIR": str(home / "lambdapack-cache"), "UV_EXCLUDE_NEWER": RESOLVED_AS_OF,
    })
    return env


def shown_command(step: Step | Write, exit_code: int) -> str:
    if isinstance(step, Write):
        return "$ printf '" + "".join(line + "\\n" for line in step.lines) + f"' > {step.path}"
    words = ["lambdapack", *(quote(a) for a in step.args)]
    line = "$ " + " ".join(words) + (f" | {step.pipe}" if step.pipe else "")
    notes = [f"exit {exit_code}"] if exit_code else []
    notes += [step.note] if step.note else []
    return line + ("   # " + "; ".join(notes) if notes else "")


def quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else '"' + arg.replace('"', '\\"') + '"'


# On stderr only the error's own lines are shown: not progress, not argparse's usage dump.
DIAGNOSTIC = re.compile(r"^(lambdapack[\w ]*: )?(error|hint|warning|note): ")


def shown_output(step: Step, text: str) -> list[str]:
    lines = text.splitlines()
    if step.stream == "stderr":
        lines = [line for line in lines if DIAGNOSTIC.match(line)]
    if step.pipe.startswith("head -"):
        lines = lines[: int(step.pipe.removeprefix("head -"))]
    elif step.pipe == "wc -l":
        lines = [str(len(lines))]
    if step.trim and len(lines) > sum(step.trim):
        head, tail = step.trim
        lines = [*lines[:head], "…", *(lines[len(lines) - tail:] if tail else [])]
    return lines


def normalise(text: str, roots: Sequence[str]) -> str:
    for root in sorted(roots, key=len, reverse=True):
        text = text.replace(root, SHOWN_ROOT)
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text)
    return text


def run_example(example: Example) -> str:
    """The block's text: each command and what it printed, normalised."""
    with tempfile.TemporaryDirectory(prefix="lp-readme-") as tmp:
        home = Path(tmp)
        root = home / "project"
        root.mkdir()
        for source, target in example.copies.items():
            shutil.copytree(REPO / source, root / target, dirs_exist_ok=True)
        cwd = root / example.cwd
        env = child_env(home)
        out: list[str] = []
        for step in example.steps:
            if isinstance(step, Write):
                (cwd / step.path).write_text("".join(line + "\n" for line in step.lines), encoding="utf-8")
                out.append(shown_command(step, 0))
                continue
            proc = subprocess.run([sys.executable, "-m", "lambdapack", *step.args], cwd=cwd, env=env,
                                  input=step.stdin, capture_output=True, text=True, encoding="utf-8",
                                  timeout=600, check=False)
            out.append(shown_command(step, proc.returncode))
            out += shown_output(step, proc.stderr if step.stream == "stderr" else proc.stdout)
        roots = {str(root), str(root.resolve()), str(root).replace("\\", "/"), str(root.resolve()).replace("\\", "/")}
        return normalise("\n".join(out) + "\n", sorted(roots))


@dataclass(frozen=True)
class Block:
    name: str
    start: int  # index of the first line inside the fence
    end: int  # index of the closing fence


def find_blocks(lines: Sequence[str]) -> list[Block]:
    """The marked blocks of the README; a marker not followed by a fence is an error."""
    blocks = []
    for i, line in enumerate(lines):
        m = MARKER.match(line.strip())
        if not m or m["name"].startswith(NOT_GENERATED):
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise SystemExit(f"README.md:{i + 1}: the marker {line.strip()} is not followed by a ``` block")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise SystemExit(f"README.md:{i + 2}: the block of example {m['name']} is never closed")
        blocks.append(Block(m["name"], i + 2, end))
    return blocks


def rewrite(text: str, generated: Callable[[str], str]) -> str:
    """README text with every marked block replaced by generated(name)."""
    lines = text.splitlines(keepends=True)
    for block in reversed(find_blocks(lines)):
        lines[block.start:block.end] = [generated(block.name)]
    return "".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite README.md's example blocks")
    mode.add_argument("--check", action="store_true", help="exit 1 with a diff when a block is stale")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="only this example")
    parser.add_argument("--offline", action="store_true", help="only the examples that need no network")
    parser.add_argument("--readme", type=Path, default=README, help="the file to check or rewrite")
    args = parser.parse_args(argv)
    readme: Path = args.readme
    by_name = {e.name: e for e in EXAMPLES}
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as e:
        sys.stderr.write(f"error: cannot read {readme}: {e.strerror}\nhint: pass --readme PATH of a README.md\n")
        return 2
    names = [b.name for b in find_blocks(text.splitlines())]
    unknown = sorted(set(names) - set(by_name) | set(args.only) - set(by_name))
    if unknown:
        sys.stderr.write(f"error: no example named {', '.join(unknown)} in {Path(__file__).name}" + "\n")
        sys.stderr.write(f"hint: the examples are {', '.join(by_name)}" + "\n")
        return 2
    missing = sorted(set(by_name) - set(names))
    if missing:
        sys.stderr.write(f"error: README.md has no block for {', '.join(missing)}" + "\n")
        sys.stderr.write("hint: put <!-- example: NAME --> on the line before its ``` fence" + "\n")
        return 2
    wanted = {n for n in names if (not args.only or n in args.only) and not (args.offline and by_name[n].network)}
    results = {n: run_example(by_name[n]) for n in dict.fromkeys(names) if n in wanted}
    old_blocks = {b.name: "".join(text.splitlines(keepends=True)[b.start:b.end]) for b in find_blocks(text.splitlines())}
    new = rewrite(text, lambda n: results.get(n, old_blocks[n]))
    if args.write:
        if new != text:
            partial = readme.with_name(readme.name + ".tmp")  # renamed into place: never half a README
            partial.write_text(new, encoding="utf-8", newline="")
            os.replace(partial, readme)
        sys.stdout.write(f"README.md: {len(results)} example(s) regenerated, {'changed' if new != text else 'unchanged'}" + "\n")
        return 0
    if new == text:
        sys.stdout.write(f"README.md: {len(results)} example(s) up to date" + "\n")
        return 0
    sys.stdout.writelines(difflib.unified_diff(text.splitlines(keepends=True), new.splitlines(keepends=True),
                                               "README.md", "README.md (generated)"))
    sys.stderr.write("README.md is stale: run `python scripts/readme_examples.py --write`" + "\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
