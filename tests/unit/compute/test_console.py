"""The console proxy over real sockets, driven the way python-zunclient drives it."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import websocket
from websockets.sync.server import Server, serve
from zunclient.common.websocketclient.websocketclient import WebSocketClient

from dockyard.compute import console
from dockyard.compute.console import ConsoleProxy, ConsoleTicket
from dockyard.domain.errors import Conflict, DockyardError, DriverError, NotFound, Unavailable
from dockyard.drivers.runtime.base import ConsoleStream

TOKEN = "s3cret-console-token"
UUID = "0b7a3f4e-1111-4c2d-9e3f-000000000001"
QUERY = f"token={TOKEN}&uuid={UUID}"
ZUNCLIENT_ORIGIN = object()  # stands for the origin zunclient computes from the URL


class SocketStream:
    """A console stream over one end of a socket pair; the test holds the other end."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = threading.Event()

    def read(self) -> bytes:
        try:
            return self.sock.recv(4096)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class Containers:
    """Plays the runtime: each connect() opens a stream and keeps the container's end."""

    def __init__(self) -> None:
        self.tickets: list[ConsoleTicket] = []
        self.streams: list[SocketStream] = []
        self.ends: list[socket.socket] = []
        self.error: DockyardError | None = None
        self.before_connecting: Callable[[], object] = lambda: None

    def connect(self, ticket: ConsoleTicket) -> ConsoleStream:
        self.tickets.append(ticket)
        self.before_connecting()
        if self.error is not None:
            raise self.error
        proxy_end, container_end = socket.socketpair()
        container_end.settimeout(5)
        self.streams.append(SocketStream(proxy_end))
        self.ends.append(container_end)
        return self.streams[-1]

    def close(self) -> None:
        for end in self.ends:
            end.close()


class Gate:
    """Admits each token once, unless told to refuse everything (or to fail)."""

    def __init__(self) -> None:
        self.asked: list[ConsoleTicket] = []
        self.used: set[str] = set()
        self.refuse = False
        self.error: DockyardError | None = None

    def admit(self, ticket: ConsoleTicket) -> bool:
        self.asked.append(ticket)
        if self.error is not None:
            raise self.error
        if self.refuse or ticket.token in self.used:
            return False
        self.used.add(ticket.token)
        return True


class Proxies:
    def __init__(self, gate: Gate, containers: Containers) -> None:
        self.gate = gate
        self.containers = containers
        self.started: list[ConsoleProxy] = []

    def start(self, allowed_origins: Sequence[str] = (), port: int = 0) -> ConsoleProxy:
        proxy = ConsoleProxy(
            "127.0.0.1", port, self.gate.admit, self.containers.connect, allowed_origins
        )
        proxy.start()
        self.started.append(proxy)
        return proxy


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def containers() -> Iterator[Containers]:
    containers = Containers()
    yield containers
    containers.close()


@pytest.fixture
def proxies(gate: Gate, containers: Containers) -> Iterator[Proxies]:
    proxies = Proxies(gate, containers)
    yield proxies
    for proxy in proxies.started:
        proxy.stop()


@pytest.fixture
def proxy(proxies: Proxies) -> ConsoleProxy:
    return proxies.start()


def open_console(
    proxy: ConsoleProxy,
    query: str = QUERY,
    path: str = "/",
    origin: object = ZUNCLIENT_ORIGIN,
    subprotocols: Sequence[str] | None = ("binary", "base64"),
) -> websocket.WebSocket:
    """Connect as python-zunclient's WebSocketClient.connect() does."""
    url = f"ws://127.0.0.1:{proxy.port}{path}?{query}"
    if origin is ZUNCLIENT_ORIGIN:
        origin = f"http://127.0.0.1:{proxy.port}"
    return websocket.create_connection(
        url,
        skip_utf8_validation=True,
        origin=origin,
        suppress_origin=origin is None,
        subprotocols=list(subprotocols) if subprotocols else None,
        timeout=5,
    )


def refusal(
    proxy: ConsoleProxy, query: str = QUERY, path: str = "/", origin: object = ZUNCLIENT_ORIGIN
) -> tuple[int, bytes]:
    """The status and body of the HTTP error that refuses the handshake."""
    with pytest.raises(websocket.WebSocketBadStatusException) as failure:
        open_console(proxy, query, path, origin)
    return failure.value.status_code, failure.value.resp_body or b""


def receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"EOF after {data!r}"
        data += chunk
    return data


def receive_output(ws: websocket.WebSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        message = ws.recv()
        assert isinstance(message, bytes), message
        data += message
    return data


def close_code(ws: websocket.WebSocket) -> int:
    """The code of the close frame the server sends next (data frames are skipped).

    Like zunclient, the client answers the close frame and then hangs up.
    """
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            hang_up(ws)
            return int(struct.unpack("!H", frame.data[:2])[0])


def hang_up(ws: websocket.WebSocket) -> None:
    """Drop the TCP connection without a closing handshake."""
    assert ws.sock is not None
    ws.sock.close()


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_keystrokes_reach_the_container_and_its_output_reaches_the_client(
    proxy: ConsoleProxy, containers: Containers
) -> None:
    ws = open_console(proxy)
    container = containers.ends[0]

    ws.send_binary(b"ls -l\r")
    assert receive_exactly(container, 6) == b"ls -l\r"
    ws.send("héllo")  # a text frame arrives as its UTF-8 bytes
    assert receive_exactly(container, 6) == "héllo".encode()

    container.sendall(b"total 0\r\n\x1b[0m")
    assert receive_output(ws, 13) == b"total 0\r\n\x1b[0m"
    ws.close()


def test_python_zunclients_own_client_talks_to_the_proxy(
    proxy: ConsoleProxy, containers: Containers, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"ws://127.0.0.1:{proxy.port}/?{QUERY}&exec_id=e1"
    client = WebSocketClient(zunclient=None, url=url, id=UUID)
    client.connect()
    assert "connected to" in capsys.readouterr().out

    client.send(b"id\r")
    assert receive_exactly(containers.ends[0], 3) == b"id\r"
    containers.ends[0].sendall(b"uid=0(root)")
    assert client.recv() == b"uid=0(root)"
    client.ws.close()


def test_the_ticket_carries_the_query_parameters(
    proxy: ConsoleProxy, containers: Containers
) -> None:
    open_console(proxy, query=f"uuid={UUID}&token=t1").close()
    open_console(proxy, query=f"token=t2&uuid={UUID}&exec_id=e1").close()
    assert containers.tickets == [
        ConsoleTicket("t1", UUID, None),
        ConsoleTicket("t2", UUID, "e1"),
    ]
    assert TOKEN not in repr(ConsoleTicket(TOKEN, UUID, None))


def test_the_binary_subprotocol_is_chosen_when_offered(proxy: ConsoleProxy) -> None:
    ws = open_console(proxy)
    assert ws.getsubprotocol() == "binary"
    ws.close()


def test_a_client_offering_no_subprotocol_gets_none(
    proxy: ConsoleProxy, containers: Containers
) -> None:
    ws = open_console(proxy, subprotocols=None)
    assert ws.getsubprotocol() is None
    containers.ends[0].sendall(b"$ ")
    assert receive_output(ws, 2) == b"$ "
    ws.close()


def test_the_end_of_the_stream_closes_the_websocket_normally(
    proxy: ConsoleProxy, containers: Containers
) -> None:
    ws = open_console(proxy)
    containers.ends[0].sendall(b"bye\r\n")
    containers.ends[0].shutdown(socket.SHUT_WR)  # the process exits

    assert receive_output(ws, 5) == b"bye\r\n"
    assert containers.streams[0].closed.wait(5)  # even before the client answers
    assert close_code(ws) == 1000


def test_the_client_closing_closes_the_stream(proxy: ConsoleProxy, containers: Containers) -> None:
    ws = open_console(proxy)
    ws.close()

    assert containers.streams[0].closed.wait(5)
    assert containers.ends[0].recv(1) == b""  # the container sees its stdin end


def test_a_client_vanishing_without_a_close_frame_closes_the_stream(
    proxy: ConsoleProxy, containers: Containers
) -> None:
    ws = open_console(proxy)
    hang_up(ws)

    assert containers.streams[0].closed.wait(5)


def test_a_ticket_refused_by_admit_fails_the_handshake_with_403(
    proxy: ConsoleProxy, gate: Gate, containers: Containers
) -> None:
    gate.refuse = True
    assert refusal(proxy)[0] == 403
    assert containers.tickets == []


def test_admit_is_asked_once_per_attempt_so_a_token_serves_once(
    proxy: ConsoleProxy, gate: Gate, containers: Containers
) -> None:
    open_console(proxy).close()
    assert gate.asked == [ConsoleTicket(TOKEN, UUID, None)]

    assert refusal(proxy)[0] == 403
    assert len(gate.asked) == 2
    assert len(containers.tickets) == 1


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/", f"uuid={UUID}"),
        ("/", f"token={TOKEN}"),
        ("/", ""),
        ("/", f"token=&uuid={UUID}"),
        ("/", f"token={TOKEN}&uuid="),
        ("/", f"token={TOKEN}&uuid={UUID}&exec_id="),
        ("/", f"token={TOKEN}&token=other&uuid={UUID}"),
        ("/console", QUERY),
    ],
)
def test_a_malformed_url_fails_the_handshake_with_400(
    proxy: ConsoleProxy, gate: Gate, path: str, query: str
) -> None:
    status, body = refusal(proxy, path=path, query=query)
    assert status == 400
    assert b"token and uuid" in body
    assert gate.asked == []


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example:6784",
        "http://127.0.0.1.evil.example",
        "null",
    ],
)
def test_a_foreign_origin_fails_the_handshake_with_403(
    proxy: ConsoleProxy, gate: Gate, origin: str
) -> None:
    assert refusal(proxy, origin=origin)[0] == 403
    assert gate.asked == []


def test_an_origin_on_the_proxys_host_with_another_port_is_accepted(proxy: ConsoleProxy) -> None:
    open_console(proxy, origin="https://127.0.0.1:443").close()


def test_an_allowed_origin_is_accepted(proxies: Proxies) -> None:
    proxy = proxies.start(allowed_origins=["Dashboard.example"])
    open_console(proxy, origin="https://dashboard.example").close()


def test_a_request_without_origin_is_accepted(proxy: ConsoleProxy) -> None:
    open_console(proxy, origin=None).close()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("no container here"), 404),
        (Conflict("container is not running"), 409),
        (DriverError("engine socket /run/x.sock broke"), 503),
    ],
)
def test_connect_failures_become_http_errors(
    proxy: ConsoleProxy, containers: Containers, error: DockyardError, status: int
) -> None:
    containers.error = error
    code, body = refusal(proxy)
    assert code == status
    assert (error.detail.encode() in body) is error.public


def test_admit_failing_is_a_503(proxy: ConsoleProxy, gate: Gate, containers: Containers) -> None:
    gate.error = Unavailable("control plane unreachable")
    assert refusal(proxy)[0] == 503
    assert containers.tickets == []


def test_silent_sessions_are_watched_by_tcp_keepalive_not_websocket_pings(
    proxies: Proxies, monkeypatch: pytest.MonkeyPatch
) -> None:
    # python-zunclient answers a ping inside recv() and then blocks there for a
    # data frame, so a ping would freeze its terminal until the container prints.
    servers: list[Server] = []

    def serve_and_keep(*args: Any, **kwargs: Any) -> Server:
        servers.append(serve(*args, **kwargs))
        return servers[-1]

    monkeypatch.setattr(console, "serve", serve_and_keep)
    ws = open_console(proxies.start())
    wait_for(lambda: servers[0].connections)
    (connection,) = servers[0].connections

    assert connection.ping_interval is None
    sock = connection.socket
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == console.KEEPALIVE_IDLE
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == console.KEEPALIVE_PROBES
    ws.close()


def test_the_token_is_never_logged(
    proxy: ConsoleProxy, containers: Containers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = open_console(proxy, query=f"token={TOKEN}-1&uuid={UUID}")
    ws.send_binary(b"x")
    receive_exactly(containers.ends[0], 1)
    ws.close()
    containers.error = DriverError("engine gone")
    refusal(proxy, query=f"token={TOKEN}-2&uuid={UUID}")

    assert "engine gone" in caplog.text
    assert TOKEN not in caplog.text


def test_a_stream_opened_for_a_client_that_left_mid_handshake_is_closed(
    proxy: ConsoleProxy, containers: Containers
) -> None:
    client_left = threading.Event()
    containers.before_connecting = lambda: client_left.wait(5)
    with socket.create_connection(("127.0.0.1", proxy.port)) as raw:
        raw.sendall(
            f"GET /?{QUERY} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        wait_for(lambda: containers.tickets)
    client_left.set()

    wait_for(lambda: containers.streams)
    assert containers.streams[0].closed.wait(5)


def test_stop_ends_open_sessions_and_frees_the_port(
    proxies: Proxies, containers: Containers
) -> None:
    proxy = proxies.start()
    ws = open_console(proxy)

    stopping = threading.Thread(target=proxy.stop)
    stopping.start()
    assert close_code(ws) == 1001
    stopping.join(5)
    assert not stopping.is_alive()

    assert containers.streams[0].closed.is_set()
    assert containers.ends[0].recv(1) == b""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    again = proxies.start(port=proxy.port)
    open_console(again, query=f"token=again&uuid={UUID}").close()


class DeafStream:
    """A process that never reads its stdin: a write blocks until the stream is closed."""

    def __init__(self) -> None:
        self.writing = threading.Event()
        self.closed = threading.Event()

    def read(self) -> bytes:
        self.closed.wait()
        return b""

    def write(self, data: bytes) -> None:
        self.writing.set()
        self.closed.wait()
        raise BrokenPipeError("stdin closed")

    def close(self) -> None:
        self.closed.set()


def test_stop_ends_a_session_blocked_writing_to_its_container(gate: Gate) -> None:
    stream = DeafStream()
    proxy = ConsoleProxy("127.0.0.1", 0, gate.admit, lambda ticket: stream)
    proxy.start()
    ws = open_console(proxy)
    ws.send_binary(b"typed ahead")
    assert stream.writing.wait(5)

    stopping = threading.Thread(target=proxy.stop)
    stopping.start()
    assert close_code(ws) == 1001
    stopping.join(5)
    assert not stopping.is_alive()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Count descriptors without the garbage collector closing old ones meanwhile."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.mark.usefixtures("no_gc")
def test_no_thread_or_socket_outlives_a_session(
    proxies: Proxies, gate: Gate, containers: Containers
) -> None:
    threads = set(threading.enumerate())
    proxy = proxies.start()
    refusal(proxy, query="")  # once answered, the accept loop has made its selector
    wait_for(lambda: len(set(threading.enumerate()) - threads) == 1)
    threads, fds = set(threading.enumerate()), open_fds()

    ended_by_client = open_console(proxy, query=f"token=a&uuid={UUID}")
    ended_by_container = open_console(proxy, query=f"token=b&uuid={UUID}")
    vanished = open_console(proxy, query=f"token=c&uuid={UUID}")
    containers.error = Conflict("not running")
    refusal(proxy, query=f"token=d&uuid={UUID}")
    gate.refuse = True
    refusal(proxy, query=f"token=e&uuid={UUID}")
    ended_by_client.close()
    containers.ends[1].shutdown(socket.SHUT_WR)
    assert close_code(ended_by_container) == 1000
    hang_up(vanished)
    wait_for(lambda: all(stream.closed.is_set() for stream in containers.streams))
    containers.close()

    wait_for(lambda: set(threading.enumerate()) == threads)
    wait_for(lambda: open_fds() == fds)


@pytest.mark.usefixtures("no_gc")
def test_stop_leaves_no_thread_or_socket(proxies: Proxies) -> None:
    threads, fds = set(threading.enumerate()), open_fds()
    proxy = proxies.start()
    ws = open_console(proxy)
    assert len(set(threading.enumerate()) - threads) > 1

    stopping = threading.Thread(target=proxy.stop)
    stopping.start()
    assert close_code(ws) == 1001
    stopping.join(5)
    proxies.containers.close()

    wait_for(lambda: set(threading.enumerate()) <= threads)
    # websockets leaves the selector of its accept loop to the garbage collector
    # (it sits in a reference cycle), so collect before counting.
    gc.collect()
    assert open_fds() == fds
