"""Finding containers the way Docker does (name, full id or id prefix) and waiting on them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from dockyard.cli.errors import APIError, CLIError

if TYPE_CHECKING:
    from dockyard.cli.http import Client

Container = dict[str, Any]

#: Seconds between two looks at a container being waited on, when the service cannot
#: hold a GET until the container changes (it sends no ETag).
POLL = 0.25
#: Seconds the service may hold one GET until the container changes.
WAIT = 20
_EXIT_CODE = re.compile(r"Exited \((?P<code>-?\d+)\)")


def short_id(container: Container) -> str:
    """``docker ps``'s 12-character id: the uuid's first hex digits."""
    return str(container.get("uuid", "")).replace("-", "")[:12]


def path(container: Container | str, action: str = "") -> str:
    ident = container if isinstance(container, str) else str(container["uuid"])
    return f"/containers/{quote(ident, safe='')}" + (f"/{action}" if action else "")


def list_all(client: Client, **filters: str) -> list[Container]:
    answer = client.get("/containers", **filters)
    return list(answer.get("containers") or [])


def find(client: Client, ident: str) -> Container:
    """The container called ``ident`` or whose id starts with it; "No such container" else."""
    try:
        return dict(client.get(path(ident)))
    except APIError as exc:
        if exc.status != 404:
            raise
    prefix = ident.replace("-", "").lower()
    if re.fullmatch(r"[0-9a-f]+", prefix):
        matches = [
            c for c in list_all(client) if str(c["uuid"]).replace("-", "").startswith(prefix)
        ]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise CLIError(f"multiple containers match the id prefix {ident!r}: use more of it")
    raise CLIError(f"Error response from server: No such container: {ident}")


def refresh(client: Client, container: Container) -> Container:
    return dict(client.get(path(container)))


def wait(
    client: Client,
    container: Container,
    done: Callable[[Container], bool],
    timeout: float = 300,
    what: str = "",
) -> Container:
    """Wait until ``done`` holds for an idle container (no task running)."""
    deadline = time.monotonic() + timeout
    current, etag = container, None
    while True:
        changed, etag = client.watch(path(current), etag, _wait_for(deadline))
        current = current if changed is None else dict(changed)
        if current.get("task_state") is None and done(current):
            return current
        if time.monotonic() > deadline:
            raise CLIError(
                f"{current.get('name')} is still {current.get('status')} after {timeout:.0f} s"
                + (f" (waiting for it to {what})" if what else "")
            )
        if etag is None:
            time.sleep(POLL)


def _wait_for(deadline: float) -> int:
    """Seconds one GET may be held: WAIT, or what is left before ``deadline``."""
    return max(1, min(WAIT, int(deadline - time.monotonic())))


def wait_gone(client: Client, container: Container, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    current, etag = container, None
    while True:
        try:
            changed, etag = client.watch(path(container), etag, _wait_for(deadline))
        except APIError as exc:
            if exc.status == 404:
                return
            raise
        current = current if changed is None else dict(changed)
        if current.get("status") == "Error" and current.get("task_state") is None:
            raise CLIError(
                f"could not remove {current.get('name')}: {current.get('status_reason')}"
            )
        if time.monotonic() > deadline:
            raise CLIError(f"{current.get('name')} is still listed after {timeout:.0f} s")
        if etag is None:
            time.sleep(POLL)


def exit_code(container: Container) -> int | None:
    """The main process's exit code, from the engine summary ("Exited (3) 2 seconds ago")."""
    match = _EXIT_CODE.search(str(container.get("status_detail") or ""))
    return int(match["code"]) if match else None


def status(name: str) -> Callable[[Container], bool]:
    return lambda c: c.get("status") in (name, "Error")
