"""The websocket console proxy: joins a client's websocket to a container's terminal.

A client (python-zunclient's ``attach`` and ``exec --interactive``) opens
``ws://HOST:PORT/?token=T&uuid=U[&exec_id=E]``. The handshake is checked before
the upgrade, so a refusal is a plain HTTP error; once upgraded, bytes flow both
ways until either end closes.
"""

from __future__ import annotations

import http
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from dockyard.domain.errors import Conflict, DockyardError, NotFound
from dockyard.drivers.runtime.base import ConsoleStream

LOG = logging.getLogger(__name__)

BINARY = Subprotocol("binary")

#: TCP keepalive of client connections: probe after a minute of silence, every
#: 10 s, and drop the connection after 6 unanswered probes (a peer gone for ~2 min).
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES = 60, 10, 6


@dataclass(frozen=True)
class ConsoleTicket:
    """What a client presents to open a console; ``exec_id`` None means attach."""

    token: str = field(repr=False)
    uuid: str
    exec_id: str | None


class ConsoleProxy:
    """Serves consoles over websockets from daemon threads.

    ``admit`` decides (once per connection attempt) whether a ticket may open a
    console; ``connect`` opens the stream. ``allowed_origins`` lists the
    hostnames, besides the proxy's own, that browsers may connect from. A
    session lasts as long as both ends do, however long it stays silent.
    """

    def __init__(
        self,
        bind_host: str,
        port: int,
        admit: Callable[[ConsoleTicket], bool],
        connect: Callable[[ConsoleTicket], ConsoleStream],
        allowed_origins: Sequence[str] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._bind_host = bind_host
        self._tls = tls
        self._requested_port = port
        self._admit = admit
        self._connect = connect
        self._allowed_origins = frozenset(origin.lower() for origin in allowed_origins)
        self._streams = _OpenStreams()
        self._stopping = threading.Event()
        self._server: Server | None = None
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("the console proxy is not started")
        return self._bound_port

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("a console proxy can be started only once")
        self._server = serve(
            self._run_session,
            self._bind_host,
            self._requested_port,
            process_request=self._check_handshake,
            select_subprotocol=_select_subprotocol,
            create_connection=_ConsoleConnection,
            # No websocket pings: python-zunclient's recv() swallows a ping and then
            # blocks for a data frame, so its terminal freezes until the container
            # prints. Dead peers are found by TCP keepalive instead (see below).
            ping_interval=None,
            ssl=self._tls,
            logger=_NoDebugLogger(logging.getLogger("websockets.server"), {}),
        )
        self._bound_port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="console-proxy", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None or self._stopping.is_set():
            return
        self._stopping.set()
        # Closing the streams first unblocks any session stuck writing to one.
        self._streams.close_all()
        server.shutdown()
        thread.join()
        self._streams.close_all()

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = _ticket_from(request.path)
        if ticket is None:
            return _refuse(connection, http.HTTPStatus.BAD_REQUEST, "token and uuid are required")
        if not self._origin_allowed(request.headers):
            return _refuse(connection, http.HTTPStatus.FORBIDDEN, "origin not allowed")
        try:
            if not self._admit(ticket):
                return _refuse(connection, http.HTTPStatus.FORBIDDEN, "invalid or expired token")
            stream = self._connect(ticket)
        except NotFound as exc:
            return _refuse(connection, http.HTTPStatus.NOT_FOUND, _public_detail(exc))
        except Conflict as exc:
            return _refuse(connection, http.HTTPStatus.CONFLICT, _public_detail(exc))
        except DockyardError as exc:
            LOG.warning("console to %s (exec %s) unavailable: %s", ticket.uuid, ticket.exec_id, exc)
            return _refuse(connection, http.HTTPStatus.SERVICE_UNAVAILABLE, "console unavailable")
        assert isinstance(connection, _ConsoleConnection)
        connection.stream = self._streams.track(stream)
        return None

    def _origin_allowed(self, headers: Headers) -> bool:
        origins = headers.get_all("Origin")
        if not origins:
            return True  # not a browser
        hosts = headers.get_all("Host")
        origin_host = _hostname(origins[0]) if len(origins) == 1 else None
        own_host = _hostname("//" + hosts[0]) if len(hosts) == 1 else None
        if origin_host is None:
            return False
        return origin_host == own_host or origin_host in self._allowed_origins

    def _run_session(self, connection: ServerConnection) -> None:
        assert isinstance(connection, _ConsoleConnection) and connection.stream is not None
        stream = connection.stream
        pump = threading.Thread(
            target=self._pump_output, args=(stream, connection), name="console-output", daemon=True
        )
        pump.start()
        try:
            _forward_input(connection, stream)
        finally:
            stream.close()
            pump.join()

    def _pump_output(self, stream: ConsoleStream, connection: ServerConnection) -> None:
        code = CloseCode.NORMAL_CLOSURE
        try:
            while chunk := stream.read():
                connection.send(chunk)
        except ConnectionClosed:
            return  # the client left; the session closes the stream
        except (OSError, DockyardError) as exc:
            LOG.info("console output ended with an error: %s", exc)
            code = CloseCode.INTERNAL_ERROR
        stream.close()  # release the container before the closing handshake
        if self._stopping.is_set():
            code = CloseCode.GOING_AWAY
        connection.close(code)


class _ConsoleConnection(ServerConnection):
    """A connection that carries the stream opened during its handshake to its session.

    When the handshake does not end with an open websocket (the client left while
    the stream was opening, or the server began shutting down), no session will
    run, so the stream is closed here.
    """

    stream: ConsoleStream | None = None

    def __init__(
        self, sock: socket.socket, protocol: ServerProtocol, server: Server, **kwargs: Any
    ) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_PROBES)
        super().__init__(sock, protocol, server, **kwargs)

    def handshake(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().handshake(*args, **kwargs)
        finally:
            if self.protocol.state is not OPEN and self.stream is not None:
                self.stream.close()


class _OpenStreams:
    """The streams the proxy has opened and not yet closed, for stop() to end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: set[_TrackedStream] = set()

    def track(self, stream: ConsoleStream) -> ConsoleStream:
        tracked = _TrackedStream(stream, self._forget)
        with self._lock:
            self._streams.add(tracked)
        return tracked

    def close_all(self) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()

    def _forget(self, stream: _TrackedStream) -> None:
        with self._lock:
            self._streams.discard(stream)


class _TrackedStream:
    def __init__(self, inner: ConsoleStream, on_close: Callable[[_TrackedStream], None]) -> None:
        self._inner = inner
        self._on_close = on_close

    def read(self) -> bytes:
        return self._inner.read()

    def write(self, data: bytes) -> None:
        self._inner.write(data)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._on_close(self)


class _NoDebugLogger(logging.LoggerAdapter[logging.Logger]):
    """websockets logs the request line, token included, at DEBUG: never let it."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


def _forward_input(connection: ServerConnection, stream: ConsoleStream) -> None:
    try:
        for message in connection:
            stream.write(message.encode() if isinstance(message, str) else message)
    except ConnectionClosed:
        pass  # closed abnormally: the session ends all the same
    except (OSError, DockyardError) as exc:
        LOG.info("console input ended with an error: %s", exc)


def _select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    return BINARY if BINARY in offered else None


def _ticket_from(target: str) -> ConsoleTicket | None:
    url = urlsplit(target)
    if url.path != "/":
        return None
    params = parse_qs(url.query, keep_blank_values=True)
    token, uuid, exec_id = (params.get(name, []) for name in ("token", "uuid", "exec_id"))
    if len(token) != 1 or len(uuid) != 1 or len(exec_id) > 1:
        return None  # missing or repeated
    if not token[0] or not uuid[0] or exec_id == [""]:
        return None
    return ConsoleTicket(token[0], uuid[0], exec_id[0] if exec_id else None)


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _public_detail(exc: DockyardError) -> str:
    return exc.detail if exc.public else type(exc).__name__


def _refuse(connection: ServerConnection, status: http.HTTPStatus, text: str) -> Response:
    return connection.respond(status, text + "\n")
