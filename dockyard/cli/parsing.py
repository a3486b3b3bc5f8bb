"""argparse the way Docker parses: ``--help`` only (``-h`` is ``--hostname``), 125 on misuse."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from dockyard.cli.errors import UsageError

Handler = Callable[..., int]


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("add_help", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        if not kwargs["add_help"]:
            self.add_argument("--help", action="help", help="Print usage")

    def commands(self) -> dict[str, argparse.ArgumentParser]:
        """The sub-command parsers, by name."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\nSee '{self.prog} --help'.")


def command(
    subparsers: argparse._SubParsersAction[Parser],
    name: str,
    handler: Handler,
    summary: str,
    usage: str | None = None,
    description: str | None = None,
) -> Parser:
    """Add one verb: ``summary`` shows in ``dockyard --help``, ``description`` in its own."""
    parser = subparsers.add_parser(
        name, prog=f"dockyard {name}", help=summary, usage=usage,
        description=description or summary,
    )  # fmt: skip
    parser.set_defaults(handler=handler)
    return parser


def format_flag(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--format",
        metavar="FORMAT",
        help=help_text + ": 'table' (default), 'json' (one API record per line), "
        "'table TEMPLATE' or a Go-style TEMPLATE such as '{{.ID}} {{.Names}}'",
    )
