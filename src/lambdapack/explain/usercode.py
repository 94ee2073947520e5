"""Rules for the user's own code and settings: syntax errors and handler settings."""

from __future__ import annotations

import re

from lambdapack.explain.commands import build_command, check_command
from lambdapack.explain.hits import QUOTE, Advice, Hit, hit
from lambdapack.explain.target import RUNTIME_PLACEHOLDER, InferredTarget

__all__ = ["handler_setting", "syntax_error"]

_SYNTAX = re.compile(r"Runtime\.UserCodeSyntaxError|Syntax error in module|\bSyntaxError:")
_SYNTAX_MODULE = re.compile(rf"Syntax error in module {QUOTE}([\w./-]+){QUOTE}")
_SYNTAX_FILE = re.compile(r"\(([\w./-]+\.py), line (\d+)\)|File \"([^\"]+\.py)\", line (\d+)")
_HANDLER_MISSING = re.compile(rf"Handler {QUOTE}([\w.]+){QUOTE} missing on module {QUOTE}([\w.]+){QUOTE}")
_BAD_HANDLER = re.compile(rf"Runtime\.MalformedHandlerName|Bad handler {QUOTE}([^'`\"]*){QUOTE}")
_HANDLER_NOT_FOUND = re.compile(r"Runtime\.HandlerNotFound")


def syntax_error(line: str, t: InferredTarget) -> list[Hit]:
    """EX011: code that does not parse on the runtime's Python."""
    if _SYNTAX.search(line) is None:
        return []
    mod_m = _SYNTAX_MODULE.search(line)
    mod = mod_m.group(1) if mod_m else ""
    file_m = _SYNTAX_FILE.search(line)
    where = ""
    if file_m is not None:
        where = f"{file_m.group(1) or file_m.group(3)}, line {file_m.group(2) or file_m.group(4)}"
    py = "python3" if t.runtime == RUNTIME_PLACEHOLDER else t.runtime
    target_file = (file_m.group(1) or file_m.group(3)) if file_m else (f"{mod}.py" if mod else "<file>.py")
    return [
        hit(
            # One per excerpt: the [ERROR] line and its traceback's SyntaxError are the same problem.
            ("syntax",),
            "EX011",
            line,
            Advice(
                title=f"syntax error in {('module ' + repr(mod)) if mod else 'the code'}"
                + (f" ({where})" if where else ""),
                cause="The code does not parse on the runtime's Python: either a real syntax error, or syntax newer "
                "than the runtime (`match` needs 3.10; PEP 695 `type X = ...` / generic `def f[T]` and PEP 701 "
                "f-strings need 3.12), in your code or in a dependency installed for a newer Python.",
                confirm=f"{py} -m py_compile {target_file}; then: {check_command(t)}",
                fix="fix the line, or set the function's runtime to the Python the code is written for and "
                f"rebuild for it: {build_command(t)}",
            ),
        )
    ]


def handler_setting(line: str, t: InferredTarget) -> list[Hit]:
    """EX012: a handler setting that names no function Lambda can find."""
    m = _HANDLER_MISSING.search(line)
    if m is not None:
        func, mod = m.group(1), m.group(2)
        return [
            hit(
                ("missing", mod, func),
                "EX012",
                line,
                Advice(
                    title=f"function '{func}' not found in module '{mod}'",
                    cause=f"The handler setting is '{mod}.{func}', and {mod}.py imported fine but defines no "
                    f"top-level '{func}' (renamed, misspelt, or nested inside another block).",
                    confirm=f"grep -n 'def ' {mod.replace('.', '/')}.py",
                    fix=f"set the function's handler to '{mod}.<name of the function>' (aws lambda "
                    f"update-function-configuration --handler {mod}.<function>), or rename the function to "
                    f"'{func}'.",
                ),
            )
        ]
    m = _BAD_HANDLER.search(line)
    if m is not None or _HANDLER_NOT_FOUND.search(line):
        return [
            hit(
                ("handler",),
                "EX012",
                line,
                Advice(
                    title="handler setting is invalid",
                    cause="The function's handler setting must be '<module>.<function>' (e.g. "
                    "'lambda_function.lambda_handler'); the one configured does not name a function Lambda "
                    "can find.",
                    confirm="aws lambda get-function-configuration --function-name <fn> --query Handler",
                    fix="aws lambda update-function-configuration --function-name <fn> --handler <module>.<function>",
                ),
            )
        ]
    return []
