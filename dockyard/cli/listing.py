"""``dockyard ps`` and ``dockyard inspect``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
from collections.abc import Callable

from dockyard.cli import containers, output, units
from dockyard.cli.context import Context
from dockyard.cli.errors import FAILURE, CLIError, UsageError
from dockyard.cli.parsing import Parser, command, format_flag

COLUMNS = [
    output.Column("CONTAINER ID", "ID"),
    output.Column("IMAGE", "Image"),
    output.Column("COMMAND", "Command"),
    output.Column("CREATED", "RunningFor"),
    output.Column("STATUS", "Status"),
    output.Column("PORTS", "Ports"),
    output.Column("NAMES", "Names"),
]
FIELDS = [c.field for c in COLUMNS] + ["CreatedAt", "State", "Labels", "Host", "Networks"]

#: ``docker ps --filter status=`` values and the Zun statuses they mean.
STATUS_FILTER = {
    "created": {"Created", "Creating"},
    "running": {"Running"},
    "paused": {"Paused"},
    "restarting": {"Restarting"},
    "removing": {"Deleting"},
    "exited": {"Stopped"},
    "dead": {"Dead", "Error", "Unknown", "Deleted"},
}
#: Docker's one-word state for each Zun status.
DOCKER_STATE = {
    zun: docker for docker, statuses in STATUS_FILTER.items() for zun in sorted(statuses)
}
#: What ``docker ps`` without ``-a`` shows: containers whose process is up.
UP = ("Running", "Paused", "Restarting")
FILTER_KEYS = ("id", "name", "status", "label", "ancestor")


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    ps = command(subparsers, "ps", ps_command, "List containers",
                 usage="dockyard ps [OPTIONS]")  # fmt: skip
    ps.add_argument(
        "-a", "--all", action="store_true", help="Show all containers (default: those up)"
    )
    ps.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    ps.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    ps.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                    help=f"Filter output ({', '.join(FILTER_KEYS)}; may repeat)")  # fmt: skip
    format_flag(ps, "Format output")
    inspect = command(subparsers, "inspect", inspect_command,
                      "Show the full API record of one or more containers as JSON",
                      usage="dockyard inspect CONTAINER [CONTAINER...]")  # fmt: skip
    inspect.add_argument("-f", "--format", help="Go-style template applied to each record")
    inspect.add_argument("containers", nargs="+", metavar="CONTAINER")


def ps_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        output.check_format(args.format, FIELDS)
        keep = row_filter(args.filter, args.all)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    found = [c for c in containers.list_all(ctx.client()) if keep(c)]
    if args.quiet:
        ids = (str(c["uuid"]) if args.no_trunc else containers.short_id(c) for c in found)
        ctx.out.write("".join(f"{ident}\n" for ident in ids))
        return 0
    now = ctx.now()
    rows = [(row(c, now, truncate=not args.no_trunc), c) for c in found]
    output.emit(ctx.out, args.format, COLUMNS, rows)
    return 0


def inspect_command(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client()
    records, code = [], 0
    for ident in args.containers:
        try:
            records.append(containers.find(client, ident))
        except CLIError as exc:
            ctx.err.write(f"{exc.message}\n")
            code = FAILURE
    if args.format:
        for record in records:
            line = output.render_template(args.format, row(record, ctx.now(), False), record)
            ctx.out.write(line + "\n")
    else:
        ctx.out.write(json.dumps(records, indent=4, sort_keys=True) + "\n")
    return code


def row(container: containers.Container, now: dt.datetime, truncate: bool) -> dict[str, str]:
    """One ``docker ps`` line's fields from the API record."""
    argv = list(container.get("entrypoint") or []) + list(container.get("command") or [])
    command_text = shlex.join(argv)
    created = container.get("created_at")
    created_at = units.parse_timestamp(created) if created else None
    ports = ", ".join(f"{p}/tcp" if isinstance(p, int) else str(p)
                      for p in container.get("ports") or [])  # fmt: skip
    labels = container.get("labels") or {}
    return {
        "ID": containers.short_id(container) if truncate else str(container["uuid"]),
        "Image": str(container.get("image") or ""),
        "Command": json.dumps(
            output.truncate(command_text, 20) if truncate else command_text, ensure_ascii=False
        ),  # fmt: skip
        "RunningFor": units.ago(created_at, now) if created_at else "",
        "CreatedAt": str(created or ""),
        "Status": str(container.get("status_detail") or container.get("status") or ""),
        "State": DOCKER_STATE.get(str(container.get("status")), "dead"),
        "Ports": ports,
        "Names": str(container.get("name") or ""),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Host": str(container.get("host") or ""),
        "Networks": ",".join(sorted(container.get("addresses") or {})),
    }


def row_filter(filters: list[str], show_all: bool) -> Callable[[containers.Container], bool]:
    """``docker ps``'s selection: running only unless ``-a``; every ``--filter`` must hold.

    Several values for one key are alternatives, as in Docker.
    """
    wanted: dict[str, list[str]] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTER_KEYS:
            raise ValueError(f"invalid filter {item!r} (keys: {', '.join(FILTER_KEYS)})")
        if key == "status" and value not in STATUS_FILTER:
            raise ValueError(f"invalid filter status={value} (one of {', '.join(STATUS_FILTER)})")
        wanted.setdefault(key, []).append(value)

    def matches(container: containers.Container, key: str, value: str) -> bool:
        if key == "id":
            return str(container["uuid"]).replace("-", "").startswith(value.replace("-", ""))
        if key == "name":
            return value in str(container.get("name") or "")
        if key == "status":
            return container.get("status") in STATUS_FILTER[value]
        if key == "ancestor":
            image = str(container.get("image") or "")
            return image == value or image.split(":")[0] == value
        label, _, label_value = value.partition("=")
        labels = container.get("labels") or {}
        return label in labels and (not label_value or labels[label] == label_value)

    def keep(container: containers.Container) -> bool:
        if not show_all and "status" not in wanted and container.get("status") not in UP:
            return False
        return all(any(matches(container, k, v) for v in values) for k, values in wanted.items())

    return keep
