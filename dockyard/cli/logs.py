"""``dockyard logs [-f]``: the API returns a snapshot, so following polls with timestamps."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any

from dockyard.cli import containers
from dockyard.cli.context import Context
from dockyard.cli.errors import UsageError
from dockyard.cli.parsing import Parser, command

if TYPE_CHECKING:
    from dockyard.cli.http import Client

#: Statuses in which a container can still write output.
LIVE = ("Creating", "Running", "Restarting", "Paused", "Rebuilding")
FOLLOW_INTERVAL = 0.5
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhd])$")


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    parser = command(subparsers, "logs", logs, "Fetch the logs of a container",
                     usage="dockyard logs [OPTIONS] CONTAINER")  # fmt: skip
    parser.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    parser.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    parser.add_argument("-n", "--tail", default="all", help="Lines to show from the end")
    parser.add_argument("--since", help="Since a timestamp or a duration (e.g. 10m)")
    parser.add_argument("container", metavar="CONTAINER")


def logs(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client()
    container = containers.find(client, args.container)
    since = parse_since(args.since, ctx.now()) if args.since else None
    if args.follow:
        follow(client, container, ctx, args.timestamps, args.tail, since)
        return 0
    params: dict[str, Any] = {"timestamps": args.timestamps, "tail": args.tail}
    if since is not None:
        params["since"] = since
    ctx.out.write(str(client.get(containers.path(container, "logs"), **params) or ""))
    return 0


def follow(
    client: Client,
    container: containers.Container,
    ctx: Context,
    timestamps: bool = False,
    tail: str = "all",
    since: int | None = None,
) -> containers.Container:
    """Print the logs as they grow until the container stops; returns its last record."""
    cursor: tuple[int, int] | None = None
    first = True
    while True:
        current = containers.refresh(client, container)
        params: dict[str, Any] = {"timestamps": True}
        if first:
            params["tail"] = tail
        if cursor is not None:
            params["since"] = cursor[0]
        elif since is not None:
            params["since"] = since
        text = str(client.get(containers.path(container, "logs"), **params) or "")
        first = False
        for line in text.splitlines(keepends=True):
            stamp, _, rest = line.partition(" ")
            key = timestamp_key(stamp)
            if key is None:
                rest, key = line, cursor
            elif cursor is not None and key <= cursor:
                continue
            ctx.out.write(line if timestamps else rest)
            cursor = key
        ctx.out.flush()
        if current.get("status") not in LIVE:
            return current
        time.sleep(FOLLOW_INTERVAL)


def timestamp_key(stamp: str) -> tuple[int, int] | None:
    """An engine timestamp (RFC 3339, up to nanoseconds) as (epoch seconds, nanoseconds)."""
    match = re.fullmatch(
        r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", stamp
    )
    if match is None:
        return None
    zone = "+00:00" if match[3] == "Z" else match[3]
    seconds = int(dt.datetime.fromisoformat(match[1] + zone).timestamp())
    return seconds, int((match[2] or "0").ljust(9, "0"))


def parse_since(text: str, now: dt.datetime) -> int:
    """``--since``: epoch seconds, an RFC 3339 time, or a duration before now (``10m``)."""
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if match:
        factor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match["unit"]]
        return int(now.timestamp() - float(match["n"]) * factor)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--since: invalid value {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())
