"""Live terminal streams over the engine's hijacked attach and exec connections."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from dockyard.domain.errors import Conflict, DriverError

_HEADER_SIZE = 8
_CHUNK = 64 * 1024


class FrameDecoder:
    """Unwraps the engine's multiplexed stream (used when there is no TTY).

    Each frame is an 8-byte header (stream type, three zero bytes, big-endian
    uint32 payload length) and its payload. Bytes may be fed in any slicing;
    ``feed`` returns the payload bytes they complete, stdout and stderr alike.
    """

    def __init__(self) -> None:
        self._header = bytearray()
        self._payload_left = 0

    def feed(self, data: bytes) -> bytes:
        payload = bytearray()
        at = 0
        while at < len(data):
            if self._payload_left:
                taken = data[at : at + self._payload_left]
                payload += taken
                self._payload_left -= len(taken)
                at += len(taken)
                continue
            missing = _HEADER_SIZE - len(self._header)
            self._header += data[at : at + missing]
            at += missing
            if len(self._header) == _HEADER_SIZE:
                self._payload_left = int.from_bytes(self._header[4:], "big")
                self._header.clear()
        return bytes(payload)


class DockerConsole:
    """A ``ConsoleStream`` over the socket docker-py hands back for attach and exec.

    One thread may read while another writes; ``close`` may come from any thread.
    """

    def __init__(self, raw: Any, multiplexed: bool) -> None:
        self._raw = raw
        # docker-py returns a SocketIO over a unix or plain TCP socket, the socket for TLS.
        self._sock: socket.socket = getattr(raw, "_sock", raw)
        # The client's timeout would end a quiet terminal; these sessions last.
        self._sock.settimeout(None)
        self._pending = _read_ahead(raw, self._sock)
        self._decoder = FrameDecoder() if multiplexed else None
        self._lock = threading.Lock()
        self._closed = False

    def read(self) -> bytes:
        while True:
            chunk = self._receive()
            if not chunk or self._decoder is None:
                return chunk
            payload = self._decoder.feed(chunk)
            if payload:
                return payload

    def write(self, data: bytes) -> None:
        if self._closed:
            raise Conflict("the terminal session is closed")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise Conflict(f"the terminal session has ended: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        # Shutting down first wakes a read blocked in another thread.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        response = getattr(self._raw, "_response", None)
        # The HTTP response holds file objects on the socket; the descriptor is
        # released only once they are closed too.
        closers = [response.close] if response is not None else []
        for close in (*closers, self._raw.close, self._sock.close):
            with contextlib.suppress(OSError, ValueError):
                close()

    def _receive(self) -> bytes:
        if self._pending:
            chunk, self._pending = self._pending, b""
            return chunk
        if self._closed:
            return b""
        try:
            return self._sock.recv(_CHUNK)
        except ConnectionError:
            return b""
        except OSError as exc:
            if self._closed:
                return b""
            raise DriverError(f"terminal stream failed: {exc}") from exc


def _read_ahead(raw: Any, sock: socket.socket) -> bytes:
    """Output the HTTP client buffered while it read the response headers.

    The engine may send the first output in the same packet as the upgrade
    response; http.client's buffered reader then holds it, not the socket.
    """
    try:
        reader = raw._response.raw._fp.fp
    except AttributeError:
        return b""
    sock.setblocking(False)
    try:
        # read1 returns what is buffered, or at most one socket read: never blocks here.
        return bytes(reader.read1(_CHUNK) or b"")
    except (BlockingIOError, ValueError):
        return b""
    finally:
        sock.settimeout(None)
