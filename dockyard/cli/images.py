"""``dockyard images`` and ``dockyard pull`` over ``/v1/images`` (spec api-other §8).

Pulling is asynchronous in the API: the record appears at once, shows how far
the pull is (layers and bytes, updated by the host every second or so) and gets
its image id when the compute host has the image; ``pull`` draws a progress bar
from the record until then, and fails with the record's reason when the pull
does. A server without the images API gets a clear message.
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import TYPE_CHECKING, Any

from dockyard.cli import output, units
from dockyard.cli.context import Context
from dockyard.cli.errors import APIError, CLIError, UsageError
from dockyard.cli.parsing import Parser, command, format_flag

if TYPE_CHECKING:
    from dockyard.cli.http import Client

COLUMNS = [
    output.Column("REPOSITORY", "Repository"),
    output.Column("TAG", "Tag"),
    output.Column("IMAGE ID", "ID"),
    output.Column("SIZE", "Size"),
    output.Column("HOST", "Host"),
]
PULL_TIMEOUT = 600
SPINNER = "|/-\\"
BAR_WIDTH = 30


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    images = command(subparsers, "images", images_command, "List images on the compute hosts",
                     usage="dockyard images [OPTIONS] [REPOSITORY[:TAG]]")  # fmt: skip
    images.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    format_flag(images, "Format output")
    images.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")
    pull = command(subparsers, "pull", pull_command, "Pull an image onto a compute host",
                   usage="dockyard pull [OPTIONS] NAME[:TAG]")  # fmt: skip
    pull.add_argument("--host", help="Compute host to pull onto (default: the only one)")
    pull.add_argument("-q", "--quiet", action="store_true", help="Suppress the progress output")
    pull.add_argument("image", metavar="NAME[:TAG]")


def _no_images_api(exc: APIError) -> CLIError:
    return CLIError(
        f"this server does not offer the images API (/v1/images answered HTTP {exc.status}); "
        "images are pulled on demand by `dockyard run`"
    )


def _images(client: Client, path: str, method: str = "GET", body: Any = None) -> Any:
    try:
        return client.request(method, path, body=body)
    except APIError as exc:
        # An unknown route, not an unknown image: the server has no images API.
        missing = exc.status == 404 and (path == "/images" or "image" not in exc.detail.lower())
        if exc.status == 501 or missing:
            raise _no_images_api(exc) from exc
        raise


def row(image: dict[str, Any]) -> dict[str, str]:
    image_id = str(image.get("image_id") or "")
    size = image.get("size")
    return {
        "Repository": str(image.get("repo") or ""),
        "Tag": str(image.get("tag") or ""),
        "ID": image_id.removeprefix("sha256:")[:12] if image_id else _pending(image),
        "Size": _size(size),
        "Host": str(image.get("host") or ""),
    }


def _pending(image: dict[str, Any]) -> str:
    return "<failed>" if image.get("status") == "error" else "<pulling>"


def _size(size: Any) -> str:
    if size is None or size == "":
        return ""
    try:
        return units.decimal_size(float(size))
    except ValueError:
        return str(size)


def images_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        output.check_format(args.format, [c.field for c in COLUMNS])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    answer = _images(ctx.client(), "/images")
    found = list(answer.get("images") or [])
    if args.repository:
        # The tag follows the last colon after the last slash (a registry has a port).
        repo, sep, tag = args.repository.rpartition(":")
        if not sep or "/" in tag:
            repo, tag = args.repository, ""
        found = [i for i in found if i.get("repo") == repo and (not tag or i.get("tag") == tag)]
    if args.quiet:
        ctx.out.write("".join(f"{row(i)['ID']}\n" for i in found))
        return 0
    output.emit(ctx.out, args.format, COLUMNS, [(row(i), i) for i in found])
    return 0


def pull_command(ctx: Context, args: argparse.Namespace) -> int:
    client = ctx.client()
    host = args.host or _only_host(client)
    try:
        image = _images(client, "/images", "POST", {"repo": args.image, "host": host})
    except APIError as exc:
        if exc.status != 409:
            raise
        # Recorded on that host already, as `docker pull` of a present image says.
        if not args.quiet:
            ctx.out.write(f"Status: Image is up to date for {args.image} on {host}\n")
        return 0
    reference = f"{image.get('repo') or args.image}:{image.get('tag') or 'latest'}"
    started = time.monotonic()
    spinner = itertools.cycle(SPINNER)
    live = ctx.err.isatty() and not args.quiet
    while not image.get("image_id"):
        elapsed = time.monotonic() - started
        if image.get("status") == "error":
            if live:
                ctx.err.write("\r\x1b[K")
            reason = image.get("status_reason") or "the host gave no reason"
            raise CLIError(f"pulling {reference} on {host} failed: {reason}")
        if elapsed > PULL_TIMEOUT:
            raise CLIError(f"{reference} was not pulled within {PULL_TIMEOUT} s")
        if live:
            line = progress_line(image.get("progress"), next(spinner), elapsed)
            ctx.err.write(f"\r\x1b[K{reference}: {line}")
            ctx.err.flush()
        time.sleep(0.5)
        image = _images(client, f"/images/{image['uuid']}")
    if live:
        ctx.err.write("\r\x1b[K")
    if not args.quiet:
        ctx.out.write(f"{reference}: pulled on {host}\nDigest: {image['image_id']}\n")
    return 0


def progress_line(progress: Any, spin: str, elapsed: float) -> str:
    """``[=====>    ] 12.3MB/40.1MB  2/5 layers`` from a record's ``progress``; a spinner
    until the host has said how big the pull is."""
    if not isinstance(progress, dict) or not progress.get("bytes_total"):
        return f"{spin} waiting for the registry ({elapsed:.0f}s)"
    done, total = int(progress.get("bytes_done") or 0), int(progress["bytes_total"])
    filled = min(BAR_WIDTH, BAR_WIDTH * done // total)
    bar = "=" * filled + (">" if filled < BAR_WIDTH else "") + " " * (BAR_WIDTH - filled - 1)
    layers = f"{progress.get('layers_done', 0)}/{progress.get('layers_total', 0)} layers"
    sizes = f"{units.decimal_size(done)}/{units.decimal_size(total)}"
    return f"[{bar[:BAR_WIDTH]}] {sizes}  {layers}"


def _only_host(client: Client) -> str:
    try:
        hosts = list(client.get("/hosts").get("hosts") or [])
    except APIError as exc:
        raise CLIError(f"name the compute host with --host (listing hosts: {exc.detail})") from exc
    if len(hosts) != 1:
        names = ", ".join(str(h.get("hostname")) for h in hosts)
        raise CLIError(f"there are {len(hosts)} compute hosts ({names}): choose one with --host")
    return str(hosts[0]["hostname"])
