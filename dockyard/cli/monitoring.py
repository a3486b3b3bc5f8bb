"""``dockyard stats`` and ``dockyard top``."""

from __future__ import annotations

import argparse
import time
from typing import Any

from dockyard.cli import containers, output, units
from dockyard.cli.context import Context
from dockyard.cli.errors import UsageError
from dockyard.cli.parsing import Parser, command, format_flag

STATS_COLUMNS = [
    output.Column("CONTAINER ID", "ID"),
    output.Column("NAME", "Name"),
    output.Column("CPU %", "CPUPerc"),
    output.Column("MEM USAGE / LIMIT", "MemUsage"),
    output.Column("MEM %", "MemPerc"),
    output.Column("NET I/O", "NetIO"),
    output.Column("BLOCK I/O", "BlockIO"),
]
STREAM_INTERVAL = 1.0
CLEAR = "\x1b[2J\x1b[H"


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    stats = command(subparsers, "stats", stats_command,
                    "Display a live stream of container resource usage statistics",
                    usage="dockyard stats [OPTIONS] [CONTAINER...]")  # fmt: skip
    stats.add_argument("--no-stream", action="store_true",
                       help="Print one snapshot instead of refreshing every second")  # fmt: skip
    format_flag(stats, "Format output")
    stats.add_argument("containers", nargs="*", metavar="CONTAINER",
                       help="Containers to show (default: every running one)")  # fmt: skip
    top = command(subparsers, "top", top_command, "Display the running processes of a container",
                  usage="dockyard top CONTAINER [ps OPTIONS]")  # fmt: skip
    top.add_argument("container", metavar="CONTAINER")
    top.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="ps OPTIONS")


def stats_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        output.check_format(args.format, [c.field for c in STATS_COLUMNS])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    client = ctx.client()
    if args.containers:
        chosen = [containers.find(client, ident) for ident in args.containers]
    else:
        chosen = [c for c in containers.list_all(client) if c.get("status") == "Running"]
    stream = not args.no_stream and ctx.out.isatty()
    while True:
        rows = []
        for container in chosen:
            snapshot = client.get(containers.path(container, "stats"))
            rows.append((stats_row(container, snapshot), snapshot))
        if stream:
            ctx.out.write(CLEAR)
        output.emit(ctx.out, args.format, STATS_COLUMNS, rows)
        ctx.out.flush()
        if not stream:
            return 0
        time.sleep(STREAM_INTERVAL)


def stats_row(container: containers.Container, snapshot: dict[str, Any]) -> dict[str, str]:
    """A ``docker stats`` line from the API's snapshot (spec §10.7 key names)."""
    usage = float(snapshot.get("MEM USAGE(MiB)") or 0) * units.MiB
    limit = float(snapshot.get("MEM LIMIT(MiB)") or 0) * units.MiB
    return {
        "ID": containers.short_id(container),
        "Name": str(snapshot.get("CONTAINER") or container.get("name") or ""),
        "CPUPerc": f"{float(snapshot.get('CPU %') or 0):.2f}%",
        "MemUsage": f"{units.human_size(usage)} / {units.human_size(limit)}",
        "MemPerc": f"{float(snapshot.get('MEM %') or 0):.2f}%",
        "NetIO": _pair(snapshot.get("NET I/O(B)")),
        "BlockIO": _pair(snapshot.get("BLOCK I/O(B)")),
    }


def _pair(text: Any) -> str:
    """``"<in>/<out>"`` byte counts as ``docker stats`` shows them: ``1.2kB / 0B``."""
    first, _, second = str(text or "0/0").partition("/")
    try:
        return f"{units.decimal_size(float(first))} / {units.decimal_size(float(second or 0))}"
    except ValueError:
        return str(text)


def top_command(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client()
    container = containers.find(client, args.container)
    ps_args = " ".join(args.ps_args) if args.ps_args else "None"
    answer = client.get(containers.path(container, "top"), ps_args=ps_args)
    titles = [str(t) for t in answer.get("Titles") or []]
    columns = [output.Column(title, str(i)) for i, title in enumerate(titles)]
    rows = [{str(i): str(v) for i, v in enumerate(p)} for p in answer.get("Processes") or []]
    ctx.out.write(output.table(columns, rows))
    return 0
