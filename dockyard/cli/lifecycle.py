"""``start``, ``stop``, ``restart``, ``kill``, ``pause``, ``unpause`` and ``rm``.

The API answers these with 202 and works on in the background; like Docker's
commands, these wait until the container got there and print each name given.
A failure on one container is reported and the others still go ahead (exit 1).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from dockyard.cli import containers
from dockyard.cli.context import Context
from dockyard.cli.errors import FAILURE, APIError, CLIError
from dockyard.cli.parsing import Parser, command

if TYPE_CHECKING:
    from dockyard.cli.http import Client

#: Statuses in which ``wait`` keeps waiting.
RUNNING = ("Creating", "Running", "Restarting", "Paused", "Rebuilding")
WAIT_FOREVER = 10 * 365 * 86400

Action = Callable[["Client", containers.Container, argparse.Namespace], None]


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    def verb(name: str, action: Action, summary: str) -> Parser:
        def handler(ctx: Context, args: argparse.Namespace) -> int:
            return for_each(ctx, args, action)

        parser = command(subparsers, name, handler, summary,
                         usage=f"dockyard {name} [OPTIONS] CONTAINER [CONTAINER...]")  # fmt: skip
        parser.add_argument("containers", nargs="+", metavar="CONTAINER")
        return parser

    verb("start", _start, "Start one or more stopped containers")
    stop = verb("stop", _stop, "Stop one or more running containers")
    stop.add_argument("-t", "--time", "--timeout", dest="time", type=int, default=None,
                      help="Seconds to wait before killing it (server default 10)")  # fmt: skip
    restart = verb("restart", _restart, "Restart one or more containers")
    restart.add_argument("-t", "--time", "--timeout", dest="time", type=int, default=None,
                         help="Seconds to wait before killing it")  # fmt: skip
    kill = verb("kill", _kill, "Kill one or more running containers")
    kill.add_argument("-s", "--signal", default=None, help="Signal to send (default KILL)")
    verb("pause", _pause, "Pause all processes within one or more containers")
    verb("unpause", _unpause, "Unpause all processes within one or more containers")
    waiting = command(subparsers, "wait", wait_command,
                      "Block until one or more containers stop, then print their exit codes",
                      usage="dockyard wait CONTAINER [CONTAINER...]")  # fmt: skip
    waiting.add_argument("containers", nargs="+", metavar="CONTAINER")
    rm = verb("rm", _remove, "Remove one or more containers")
    rm.add_argument("-f", "--force", action="store_true",
                    help="Force the removal of a running container (kills it first)")  # fmt: skip


def for_each(ctx: Context, args: argparse.Namespace, action: Action) -> int:
    client = ctx.client()
    code = 0
    for ident in args.containers:
        try:
            action(client, containers.find(client, ident), args)
        except CLIError as exc:
            ctx.err.write(f"{exc.message}\n")
            code = FAILURE
            continue
        ctx.out.write(f"{ident}\n")
    return code


def wait_command(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client()
    code = 0
    for ident in args.containers:
        try:
            container = containers.find(client, ident)
            done = containers.wait(client, container, lambda c: c.get("status") not in RUNNING,
                                   timeout=WAIT_FOREVER, what="stop")  # fmt: skip
        except CLIError as exc:
            ctx.err.write(f"{exc.message}\n")
            code = FAILURE
            continue
        ctx.out.write(f"{containers.exit_code(done) or 0}\n")
        ctx.out.flush()
    return code


def _start(client: Client, container: containers.Container, args: argparse.Namespace) -> None:
    if container.get("status") == "Running":
        return
    client.post(containers.path(container, "start"))
    # The API records the start's task before it answers, so the first idle record seen is
    # the started one: Running, or Stopped again when its command ended at once (which
    # `docker start` returns for too).
    done = containers.wait(
        client, container, lambda c: c.get("status") not in ("Created", "Creating"), what="start"
    )
    if done.get("status") == "Error":
        raise CLIError(f"cannot start {done.get('name')}: {done.get('status_reason')}")


def _stop(client: Client, container: containers.Container, args: argparse.Namespace) -> None:
    if container.get("status") != "Running":
        return
    params = {} if args.time is None else {"timeout": args.time}
    client.post(containers.path(container, "stop"), **params)
    _settle(client, container, "Stopped", "stop")


def _restart(client: Client, container: containers.Container, args: argparse.Namespace) -> None:
    params = {} if args.time is None else {"timeout": args.time}
    client.post(containers.path(container, "reboot"), **params)
    _settle(client, container, "Running", "restart")


def _kill(client: Client, container: containers.Container, args: argparse.Namespace) -> None:
    body = {"signal": args.signal} if args.signal else None
    client.post(containers.path(container, "kill"), body)
    containers.wait(client, container, lambda c: c.get("task_state") is None, what="be killed")


def _pause(client: Client, container: containers.Container, args: argparse.Namespace) -> None:
    client.post(containers.path(container, "pause"))
    _settle(client, container, "Paused", "pause")


def _unpause(client: Client, container: containers.Container, args: argparse.Namespace) -> None:
    client.post(containers.path(container, "unpause"))
    _settle(client, container, "Running", "unpause")


def _remove(client: Client, container: containers.Container, args: argparse.Namespace) -> None:
    """``rm -f`` kills a running container first, which members may do (a forced
    delete is admin-only in Zun's default policy); the forced delete is the fallback."""
    if args.force and container.get("status") == "Paused":
        _unpause(client, container, args)
        container = containers.refresh(client, container)
    if args.force and container.get("status") == "Running":
        client.post(containers.path(container, "kill"))
        containers.wait(client, container, lambda c: c.get("status") != "Running",
                        what="be killed")  # fmt: skip
    try:
        client.delete(containers.path(container))
    except APIError as exc:
        if not (args.force and exc.status == 409):
            raise
        client.delete(containers.path(container), force=True)
    containers.wait_gone(client, container)


def _settle(client: Client, container: containers.Container, status: str, verb: str) -> None:
    done = containers.wait(client, container, containers.status(status), what=verb)
    if done.get("status") == "Error":
        raise CLIError(f"cannot {verb} {done.get('name')}: {done.get('status_reason')}")
