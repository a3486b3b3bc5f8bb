"""``dockyard exec`` and ``dockyard attach``.

``exec`` without ``-i``/``-t`` runs the command through the API and exits with
its exit code (its output is stdout and stderr merged: that is what the API
returns). With ``-i`` or ``-t`` it opens a terminal through the console proxy.
"""

from __future__ import annotations

import argparse
import shlex

from dockyard.cli import containers
from dockyard.cli.console import Session
from dockyard.cli.context import Context
from dockyard.cli.errors import CLIError, UsageError
from dockyard.cli.parsing import Parser, command

#: How long after its session closes a container's exit is waited for.
ENDED_WITHIN = 15


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    parser = command(subparsers, "exec", exec_command,
                     "Execute a command in a running container",
                     usage="dockyard exec [OPTIONS] CONTAINER COMMAND [ARG...]")  # fmt: skip
    parser.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open")
    parser.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")
    parser = command(subparsers, "attach", attach_command,
                     "Attach the local terminal to a running container's main process "
                     "(it must have been created with -i); Ctrl-P Ctrl-Q detaches",
                     usage="dockyard attach CONTAINER")  # fmt: skip
    parser.add_argument("container", metavar="CONTAINER")


def exec_command(ctx: Context, args: argparse.Namespace) -> int:
    if not args.command:
        raise UsageError("dockyard exec: requires CONTAINER and COMMAND")
    client = ctx.client()
    container = containers.find(client, args.container)
    line = shlex.join(args.command)
    path = containers.path(container, "execute")
    if not (args.interactive or args.tty):
        answer = client.post(path, command=line, run="true", interactive="false")
        ctx.out.write(str(answer.get("output") or ""))
        ctx.out.flush()
        return int(answer.get("exit_code") or 0)
    answer = client.post(path, command=line, run="false", interactive="true")
    exec_id = str(answer["exec_id"])

    def resize(rows: int, cols: int) -> None:
        client.post(containers.path(container, "execute_resize"), exec_id=exec_id, h=rows, w=cols)

    Session(str(answer["proxy_url"]), resize).run()
    return 0


def attach_command(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client()
    container = containers.find(client, args.container)
    url = str(client.get(containers.path(container, "attach")))

    def resize(rows: int, cols: int) -> None:
        client.post(containers.path(container, "resize"), h=rows, w=cols)

    session = Session(url, resize)
    session.run()
    if session.detached:
        return 0
    try:
        final = containers.wait(client, container, lambda c: c.get("status") != "Running",
                                timeout=ENDED_WITHIN, what="exit")  # fmt: skip
    except CLIError:
        return 0  # the session ended but the container runs on
    return containers.exit_code(final) or 0
