"""`dockyard`: the command people type; each subcommand's module is loaded only when used.

`dockyard up` runs the all-in-one (:mod:`dockyard.cmd.all_in_one`). A subcommand is
one entry of :data:`SUBCOMMANDS`: its help line and the ``main(argv) -> int`` it runs
with the arguments after its name.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    help: str
    #: "module:function" of its ``main(argv: list[str] | None) -> int``.
    target: str

    def main(self) -> Callable[[list[str]], int]:
        module, _, function = self.target.partition(":")
        found: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
        return found


SUBCOMMANDS: dict[str, Subcommand] = {
    "up": Subcommand(
        "run the whole service (API, identity, agent) on this machine's Docker Engine; "
        "`dockyard up --help` lists its options",
        "dockyard.cmd.all_in_one:main",
    ),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="dockyard",
        description="Dockyard: containers as a service, wire-compatible with OpenStack Zun.",
    )
    sub = top.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    for name, subcommand in SUBCOMMANDS.items():
        sub.add_parser(name, help=subcommand.help, add_help=False)
    return top


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in SUBCOMMANDS:
        return SUBCOMMANDS[args[0]].main()(args[1:])
    if not args:
        parser().print_help()
        return 0
    parser().parse_args(args)  # prints the help or names the mistake, and exits
    return 2


if __name__ == "__main__":
    sys.exit(main())
