"""This host's console proxy, wired to the conductor (tokens) and the runtime (terminals)."""

from __future__ import annotations

from dockyard.compute.console import ConsoleProxy, ConsoleTicket
from dockyard.config.tls import server_context
from dockyard.config.websocket_proxy import GROUP, WebsocketProxyConfig
from dockyard.drivers.runtime.base import ConsoleStream, RuntimeDriver
from dockyard.rpc.api import ControlAPI


class HostConsole:
    def __init__(
        self, cfg: WebsocketProxyConfig, runtime: RuntimeDriver, control: ControlAPI
    ) -> None:
        self.cfg = cfg
        self.runtime = runtime
        self.control = control
        self.tls = server_context(cfg.ssl_cert_file, cfg.ssl_key_file, GROUP)
        self.proxy = ConsoleProxy(
            cfg.wsproxy_host,
            cfg.wsproxy_port,
            admit=self._admit,
            connect=self._connect,
            allowed_origins=cfg.allowed_origins,
            tls=self.tls,
        )
        self._listening = False

    def start(self) -> None:
        try:
            self.proxy.start()
        except OSError as exc:
            where = f"{self.cfg.wsproxy_host}:{self.cfg.wsproxy_port}"
            raise SystemExit(
                f"[websocket_proxy] cannot listen on {where}: {exc.strerror or exc}. Set "
                "wsproxy_port (0 picks a free port), or enabled = false to serve no console."
            ) from exc
        self._listening = True

    def stop(self) -> None:
        if self._listening:
            self.proxy.stop()
            self._listening = False

    @property
    def url(self) -> str | None:
        """Where clients reach this proxy (reported to the API with the host's inventory);
        None until it listens."""
        if not self._listening:
            return None
        if self.cfg.base_url:
            return self.cfg.base_url
        host = self.cfg.wsproxy_host
        if ":" in host:
            host = f"[{host}]"
        scheme = "ws" if self.tls is None else "wss"
        return f"{scheme}://{host}:{self.proxy.port}/"

    def _admit(self, ticket: ConsoleTicket) -> bool:
        return self.control.spend_console_token(ticket.token, ticket.uuid, ticket.exec_id)

    def _connect(self, ticket: ConsoleTicket) -> ConsoleStream:
        if ticket.exec_id is not None:
            return self.runtime.open_exec(ticket.uuid, ticket.exec_id)
        return self.runtime.attach(ticket.uuid)
