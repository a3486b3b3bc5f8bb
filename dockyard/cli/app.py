"""The ``dockyard`` command line: its parser and its entry point.

``dockyard up`` (the all-in-one service) is dispatched before this parser runs
(see ``dockyard.cmd.dockyard_command``); it is listed here so that ``--help`` shows it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from dockyard.cli import (
    completion,
    copy,
    images,
    interactive,
    lifecycle,
    listing,
    logs,
    monitoring,
    run,
    session,
)
from dockyard.cli.context import Context
from dockyard.cli.errors import FAILURE, APIError, CLIError, UsageError
from dockyard.cli.parsing import Parser

PROG = "dockyard"
DESCRIPTION = """\
Run containers on Dockyard (or any OpenStack Zun service) with Docker's verbs and flags.

Who you are comes from, in order: --os-cloud/OS_CLOUD (clouds.yaml), OS_*
variables (an openrc), or the token `dockyard login` saved."""
UP_SUMMARY = "Run the all-in-one Dockyard service on this machine (see `dockyard up --help`)"


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description=DESCRIPTION, usage="dockyard [OPTIONS] COMMAND",
                    add_help=True)  # fmt: skip
    parser.add_argument("--os-cloud", metavar="NAME",
                        help="Use this cloud from clouds.yaml (default: OS_CLOUD)")  # fmt: skip
    subparsers = parser.add_subparsers(
        title="Commands", metavar="COMMAND", dest="command", parser_class=Parser
    )
    for module in (run, listing, logs, interactive, lifecycle, monitoring, copy, images, session):
        module.register(subparsers)
    completion.register(subparsers)
    subparsers.add_parser("up", prog="dockyard up", help=UP_SUMMARY, description=UP_SUMMARY)
    return parser


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    ctx = Context(os.environ if env is None else env, out or sys.stdout, err or sys.stderr)
    parser = build_parser()
    if not arguments:
        parser.print_help(ctx.out)
        return 0
    try:
        args, extra = parser.parse_known_args(arguments)
        if extra:
            # Reported by the command's own parser, so the message names the command.
            (parser.commands().get(args.command) or parser).error(
                f"unrecognized arguments: {' '.join(extra)}"
            )
        if getattr(args, "handler", None) is None:
            parser.print_help(ctx.out)
            return 0
        ctx.cloud = args.os_cloud
        return int(args.handler(ctx, args))
    except UsageError as exc:
        ctx.err.write(f"{exc.message}\n")
        return exc.exit_code
    except CLIError as exc:
        message = exc.message if exc.message.startswith("Error") else f"Error: {exc.message}"
        if isinstance(exc, APIError) and exc.status == 401:
            message += "\n(log in again with `dockyard login`, or check your OS_* settings)"
        ctx.err.write(f"{message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return FAILURE
    finally:
        ctx.close()
