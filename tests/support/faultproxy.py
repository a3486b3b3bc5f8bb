"""A TCP proxy that can cut a service off from the processes that reach it through it.

Toxiproxy's idea in a few lines: it listens on a free 127.0.0.1 port and forwards
every connection to the real server. ``cut()`` closes every open connection (both
sides see the connection die mid-stream) and makes new ones fail at once (accepted
and closed before a byte is read); ``restore()`` forwards again. The shared server
itself is never touched, so other tests on the machine go on using it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

from tests.conftest import free_port


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._cut = False
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", self.port), backlog=128)
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def url(self, url: str) -> str:
        """``url`` with the target's host:port replaced by the proxy's."""
        host, port = self.target
        needle = f"{host}:{port}"
        assert needle in url, f"{needle} not in {url}"
        return url.replace(needle, f"127.0.0.1:{self.port}")

    # -- faults ----------------------------------------------------------------------

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            doomed = list(self._open)
            self._open.clear()
        for sock in doomed:
            _kill(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._open) // 2

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()

    # -- forwarding ------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _kill(client)
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        """Join ``client`` to the real server. Only ``cut`` may fail a connection: a server
        slow to accept on a loaded machine is tried again, not passed on as a fault."""
        upstream = None
        for attempt in range(3):
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
                break
            except OSError:
                time.sleep(0.5 * (attempt + 1))
        with self._lock:
            if upstream is None or self._cut:
                _kill(client)
                if upstream is not None:
                    _kill(upstream)
                return
            self._open.update((client, upstream))
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open.discard(source)
            self._open.discard(sink)
        _kill(source)
        _kill(sink)


def _kill(sock: socket.socket) -> None:
    """Close with a reset, as a dead peer or a dropped route would look to the other side."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
