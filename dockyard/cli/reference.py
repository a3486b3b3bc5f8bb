"""Renders the CLI reference (docs/cli.md) from the parser: every command's ``--help``."""

from __future__ import annotations

import argparse
import os

from dockyard.cli.app import build_parser

HEADER = """# `dockyard` command reference

Generated from the command line's own parser by
`python -m dockyard.cli.reference > docs/cli.md`; a test fails when this file
and the code disagree. `dockyard up` (the all-in-one service) has its own
options, listed in the [configuration reference](configuration.md).
"""


def _help(parser: argparse.ArgumentParser) -> str:
    return parser.format_help().rstrip() + "\n"


def render() -> str:
    # argparse wraps help text to the terminal's width: fix it so the file is stable.
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = build_parser()
        parts = [HEADER, "## dockyard\n", "```text\n" + _help(parser) + "```\n"]
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                continue
            for name, sub in action.choices.items():
                if name == "up":
                    continue
                parts.append(f"## dockyard {name}\n")
                parts.append("```text\n" + _help(sub) + "```\n")
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
