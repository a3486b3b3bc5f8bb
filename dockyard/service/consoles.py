"""Terminal sessions: attach, interactive exec and TTY sizes.

The API hands out a URL of the container's host's console proxy with a
single-use token that expires after ``token_ttl``; the client connects there and
the proxy spends the token through the conductor before opening the terminal.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from dockyard.db.repositories.console_tokens import ConsoleTokenRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.domain.errors import (
    Conflict,
    InvalidRequest,
    NoInteractiveFlag,
    NotFound,
)
from dockyard.domain.models import RequestContext
from dockyard.rpc.api import ComputeAPI
from dockyard.rpc.messages import CONSOLE_URL
from dockyard.service.containers import ContainerService, command_argv


class ConsoleService:
    def __init__(
        self,
        containers: ContainerService,
        hosts: HostRepository,
        compute: ComputeAPI,
        tokens: ConsoleTokenRepository,
        token_ttl: dt.timedelta,
    ) -> None:
        self.containers = containers
        self.hosts = hosts
        self.compute = compute
        self.tokens = tokens
        self.token_ttl = token_ttl

    def attach(self, ctx: RequestContext, ident: str) -> str:
        """The URL (with a fresh token) a client opens to attach to the container."""
        container, host = self.containers.ready(ctx, ident, "attach")
        if not container.interactive:
            raise NoInteractiveFlag(
                f"Container {container.uuid} was not created with interactive=true; "
                "it has no stdin to attach to."
            )
        base = self._proxy_of(host)
        token = self.tokens.issue(container.uuid, None, self.token_ttl)
        return _url(base, token=token, uuid=container.uuid)

    def resize_tty(self, ctx: RequestContext, ident: str, height: int, width: int) -> None:
        container, host = self.containers.ready(ctx, ident, "resize")
        self.compute.resize_tty(host, container.uuid, height, width)

    def exec_session(
        self, ctx: RequestContext, ident: str, command: str, tty: bool
    ) -> tuple[str, str]:
        """Prepare ``command`` for an interactive session: its exec id and proxy URL."""
        container, host = self.containers.ready(ctx, ident, "execute")
        argv = command_argv(command)
        base = self._proxy_of(host)
        exec_id = self.compute.exec_session(host, container.uuid, argv, tty)
        token = self.tokens.issue(container.uuid, exec_id, self.token_ttl)
        return exec_id, _url(base, token=token, uuid=container.uuid, exec_id=exec_id)

    def exec_resize(
        self, ctx: RequestContext, ident: str, exec_id: str, height: int, width: int
    ) -> None:
        container, host = self.containers.ready(ctx, ident, "execute_resize")
        try:
            self.compute.exec_resize(host, container.uuid, exec_id, height, width)
        except NotFound as exc:
            raise InvalidRequest(
                f"exec_id: {exec_id} is not an exec of container {container.uuid}."
            ) from exc

    def _proxy_of(self, host: str) -> str:
        found = self.hosts.get(host)
        base = found.info.get(CONSOLE_URL) if found is not None else None
        if not base:
            raise Conflict(f"Host {host} serves no console: its [websocket_proxy] is disabled.")
        return str(base)


def _url(base: str, **query: str) -> str:
    return f"{base}?{urlencode(query)}"
