"""``dockyard run`` and ``dockyard create``.

``run`` without ``-d`` behaves like ``docker run``: it shows the container's
output as it comes (or opens its terminal with ``-it``) and exits with the
container's exit code; ``--rm`` then removes it. Errors the service reports
end the command with 125, or 126/127 when the command cannot be run or found.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING

from dockyard.cli import containers, create_request, logs
from dockyard.cli.console import Session
from dockyard.cli.context import Context
from dockyard.cli.errors import (
    CANNOT_INVOKE,
    NOT_FOUND_COMMAND,
    RUN_FAILED,
    APIError,
    CLIError,
)
from dockyard.cli.parsing import Parser, command

if TYPE_CHECKING:
    from dockyard.cli.http import Client

#: Statuses a run has left Creating for.
STARTED = ("Running", "Stopped", "Error", "Deleted", "Dead", "Unknown")
ENDED = ("Stopped", "Error", "Deleted", "Dead", "Unknown")


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    usage = "dockyard {} [OPTIONS] IMAGE [COMMAND] [ARG...]"
    parser = command(subparsers, "run", run, "Create and run a new container from an image",
                     usage=usage.format("run"))  # fmt: skip
    parser.add_argument("-d", "--detach", action="store_true",
                        help="Run in the background and print the container ID")  # fmt: skip
    create_request.add_flags(parser)
    parser = command(subparsers, "create", create, "Create a new container",
                     usage=usage.format("create"))  # fmt: skip
    create_request.add_flags(parser)


def create(ctx: Context, args: argparse.Namespace) -> int:
    body = create_request.build_body(args, ctx.env)
    if args.rm:
        body["auto_remove"] = True
    client = ctx.client()
    container = dict(client.post("/containers", body))
    container = containers.wait(
        client, container, lambda c: c.get("status") != "Creating", what="be created"
    )
    _refuse_error(container)
    ctx.out.write(f"{container['uuid']}\n")
    return 0


def run(ctx: Context, args: argparse.Namespace) -> int:
    try:
        return _run(ctx, args)
    except APIError as exc:
        raise CLIError(exc.message, RUN_FAILED) from exc


def _run(ctx: Context, args: argparse.Namespace) -> int:
    body = create_request.build_body(args, ctx.env)
    # Attached, the client removes the container itself once it has its exit code.
    if args.rm and args.detach:
        body["auto_remove"] = True
    client = ctx.client()
    container = dict(client.post("/containers", body, run="true"))
    container = containers.wait(
        client, container, lambda c: c.get("status") in STARTED, what="start"
    )
    if args.detach:
        _refuse_error(container)
        ctx.out.write(f"{container['uuid']}\n")
        return 0
    try:
        _refuse_error(container)  # with --rm, a container that failed is removed too
        if (args.interactive or args.tty) and container.get("status") == "Running":
            if _attach(ctx, container):
                return 0  # detached (Ctrl-P Ctrl-Q): the container keeps running
        else:
            logs.follow(client, container, ctx)
        final = containers.wait(client, container, lambda c: c.get("status") in ENDED, what="exit")
        _refuse_error(final)
        code = containers.exit_code(final)
    finally:
        if args.rm and not _still_running(client, container):
            with contextlib.suppress(CLIError):
                client.delete(containers.path(container), force=False, stop=True)
                containers.wait_gone(client, container)
    return 0 if code is None else code


def _attach(ctx: Context, container: containers.Container) -> bool:
    """Open the container's terminal; True when the user detached from it."""
    client = ctx.client()
    url = str(client.get(containers.path(container, "attach")))

    def resize(rows: int, cols: int) -> None:
        client.post(containers.path(container, "resize"), h=rows, w=cols)

    session = Session(url, resize)
    session.run()
    return session.detached


def _still_running(client: Client, container: containers.Container) -> bool:
    with contextlib.suppress(CLIError):
        return containers.refresh(client, container).get("status") == "Running"
    return False


def _refuse_error(container: containers.Container) -> None:
    if container.get("status") != "Error":
        return
    reason = str(container.get("status_reason") or "the service reported an error")
    lowered = reason.lower()
    code = RUN_FAILED
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        code = NOT_FOUND_COMMAND
    elif "permission denied" in lowered:
        code = CANNOT_INVOKE
    raise CLIError(f"Error response from server: {reason}", code)
