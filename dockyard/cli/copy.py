"""``dockyard cp``: files between the container and here, through get_archive/put_archive.

As in Docker: ``cp CONTAINER:SRC DEST`` copies into DEST when it is a
directory, else to the path DEST; ``cp SRC CONTAINER:DEST`` likewise inside the
container. ``-`` streams a tar archive on stdin or stdout instead.
"""

from __future__ import annotations

import argparse
import base64
import io
import posixpath
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.cli import containers
from dockyard.cli.context import Context
from dockyard.cli.errors import APIError, UsageError
from dockyard.cli.parsing import Parser, command

if TYPE_CHECKING:
    from dockyard.cli.http import Client


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    parser = command(subparsers, "cp", cp_command,
                     "Copy files/folders between a container and the local filesystem",
                     usage="dockyard cp CONTAINER:SRC_PATH DEST_PATH|-\n"
                     "       dockyard cp SRC_PATH|- CONTAINER:DEST_PATH")  # fmt: skip
    parser.add_argument("source", metavar="SRC")
    parser.add_argument("destination", metavar="DEST")


def split(spec: str) -> tuple[str | None, str]:
    """``CONTAINER:PATH`` → (container, path); a local path (``./a:b`` too) → (None, path)."""
    if spec.startswith(("/", ".")) or ":" not in spec:
        return None, spec
    container, _, path = spec.partition(":")
    return container, path


def cp_command(ctx: Context, args: argparse.Namespace) -> int:
    source_container, source = split(args.source)
    target_container, target = split(args.destination)
    if (source_container is None) == (target_container is None):
        raise UsageError("dockyard cp: exactly one of SRC and DEST must be CONTAINER:PATH")
    client = ctx.client()
    if source_container is not None:
        container = containers.find(client, source_container)
        download(client, container, source, target)
    else:
        assert target_container is not None
        container = containers.find(client, target_container)
        upload(client, container, source, target)
    return 0


def download(client: Client, container: containers.Container, source: str, target: str) -> None:
    answer = client.request(
        "GET", containers.path(container, "get_archive"), params={"path": source}
    )
    data = base64.b64decode(answer["data"])
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    local = Path(target)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        if local.is_dir():
            archive.extractall(local, filter="data")
            return
        if not local.parent.is_dir():
            raise UsageError(f"dockyard cp: {local.parent} is not a directory")
        top = members[0].name.split("/")[0] if members else ""
        for member in members:
            # The archive's top entry is the source's own name: rename it to the target.
            member.name = local.name + member.name[len(top) :]
        archive.extractall(local.parent, members=members, filter="data")


def upload(client: Client, container: containers.Container, source: str, target: str) -> None:
    if source == "-":
        data = sys.stdin.buffer.read()
        _put(client, container, target, data)
        return
    local = Path(source)
    if not local.exists():
        raise UsageError(f"dockyard cp: no such file or directory: {source}")
    as_child = _archive(local, local.name)
    try:
        # DEST is an existing directory: the source goes into it under its own name.
        _put(client, container, target, as_child)
    except APIError as exc:
        if exc.status not in (400, 404) or target.endswith("/"):
            raise
        # Otherwise DEST names the copy itself, made in DEST's parent.
        parent, name = posixpath.split(target.rstrip("/"))
        _put(client, container, parent or "/", _archive(local, name))


def _archive(local: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(local, arcname=name)
    return buffer.getvalue()


def _put(client: Client, container: containers.Container, target: str, data: bytes) -> None:
    body = {"data": base64.b64encode(data).decode()}
    client.request(
        "POST", containers.path(container, "put_archive"), params={"path": target}, body=body
    )
