"""The fault proxy really cuts: open connections die, new ones fail, restore resumes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.faultproxy import FaultProxy


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)


def roundtrip(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    return sock.recv(4096)


@pytest.fixture
def proxy(echo: int) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", echo) as started:
        yield started


def test_it_forwards_and_rewrites_urls(proxy: FaultProxy, echo: int) -> None:
    assert proxy.url(f"x://u@127.0.0.1:{echo}/db") == f"x://u@127.0.0.1:{proxy.port}/db"
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        assert roundtrip(sock, b"ping") == b"ping"


def test_a_cut_kills_open_connections_and_refuses_new_ones(proxy: FaultProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        assert roundtrip(sock, b"before") == b"before"
        proxy.cut()
        with pytest.raises(OSError):
            sock.sendall(b"after")
            if not sock.recv(4096):
                raise ConnectionResetError("closed")
    # A new connection dies at once: at connect, at the first write or the first read.
    with (
        pytest.raises(OSError),
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock,
    ):
        sock.sendall(b"during")
        if not sock.recv(4096):
            raise ConnectionResetError("closed")
    proxy.restore()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        assert roundtrip(sock, b"again") == b"again"
