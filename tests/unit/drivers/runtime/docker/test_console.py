"""The terminal stream over a local socket pair, and the frame decoder alone."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from dockyard.domain.errors import Conflict
from dockyard.drivers.runtime.docker.console import DockerConsole, FrameDecoder


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_decoder_takes_several_frames_in_one_read() -> None:
    decoder = FrameDecoder()

    data = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"") + frame(1, b"more")

    assert decoder.feed(data) == b"out\nerr\nmore"


def test_decoder_takes_frames_split_anywhere() -> None:
    data = frame(1, b"hello ") + frame(2, b"world\n") + frame(1, b"x" * 300)
    expected = b"hello world\n" + b"x" * 300
    for cut in range(1, len(data)):
        decoder = FrameDecoder()
        assert decoder.feed(data[:cut]) + decoder.feed(data[cut:]) == expected, f"cut {cut}"

    decoder = FrameDecoder()
    assert b"".join(decoder.feed(data[i : i + 1]) for i in range(len(data))) == expected


def test_decoder_holds_back_a_lone_header() -> None:
    decoder = FrameDecoder()

    assert decoder.feed(frame(1, b"abc")[:8]) == b""
    assert decoder.feed(b"ab") == b"ab"
    assert decoder.feed(b"c" + frame(2, b"d")) == b"cd"


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, engine = socket.socketpair()
    ours.settimeout(3)  # as a client's timeout would be; the console must remove it
    yield ours, engine
    ours.close()
    engine.close()


def test_console_demultiplexes_and_writes(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, engine = pair
    console = DockerConsole(ours, multiplexed=True)

    engine.sendall(frame(1, b"out\n")[:5])
    engine.sendall(frame(1, b"out\n")[5:] + frame(2, b"err\n"))
    received = b""
    while len(received) < len(b"out\nerr\n"):
        received += console.read()
    console.write(b"input\n")

    assert received == b"out\nerr\n"
    assert engine.recv(100) == b"input\n"
    assert ours.gettimeout() is None


def test_console_passes_tty_output_through(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, engine = pair
    console = DockerConsole(ours, multiplexed=False)

    engine.sendall(b"\x01\x00\x00\x00 raw")
    engine.shutdown(socket.SHUT_WR)

    assert console.read() == b"\x01\x00\x00\x00 raw"
    assert console.read() == b""


def test_console_first_returns_what_the_http_reader_buffered(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, engine = pair
    engine.sendall(b"HTTP/1.1 101 UPGRADED\r\n\r\n" + frame(1, b"early"))
    reader = ours.makefile("rb")
    while reader.readline() != b"\r\n":
        pass
    raw = socket.SocketIO(ours, "rwb")
    raw._response = SimpleNamespace(  # type: ignore[attr-defined]
        raw=SimpleNamespace(_fp=SimpleNamespace(fp=reader)), close=reader.close
    )
    console = DockerConsole(raw, multiplexed=True)
    engine.sendall(frame(1, b" late"))

    assert console.read() == b"early"
    assert console.read() == b" late"
    console.close()


def test_close_wakes_a_blocked_read_and_is_idempotent(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _engine = pair
    console = DockerConsole(ours, multiplexed=True)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(console.read()))
    reader.start()
    reader.join(timeout=0.2)
    assert reader.is_alive()  # blocked: nothing has been sent

    console.close()
    console.close()

    reader.join(timeout=5)
    assert got == [b""]
    assert console.read() == b""
    with pytest.raises(Conflict):
        console.write(b"late\n")
