"""The exit-code epilog of every --help, laid out as the one table (errors.EXIT_CODES) says."""

from __future__ import annotations

import argparse

from lambdapack.errors import exit_codes_help

# The exit codes of the commands, from the one table (errors.EXIT_CODES) the README quotes.
EXIT_CODES = exit_codes_help("build") + "\n  (each command's --help says what its codes mean)"


class ExitCodesFormatter(argparse.HelpFormatter):
    """Wraps the description as usual but prints the epilog (examples, exit codes) as laid out."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(("exit codes:", "examples:")):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)
