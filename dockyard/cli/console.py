"""An interactive session over the console websocket (``exec -it``, ``attach``, ``run -it``).

The local terminal goes into raw mode; keys go to the container as typed and
its output comes back as bytes. Ctrl-P Ctrl-Q detaches, as in Docker. The
terminal's size is sent at the start and whenever it changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import threading
import tty
from collections.abc import Callable, Iterator
from typing import Any

from dockyard.cli.errors import CLIError

DETACH_KEYS = b"\x10\x11"  # Ctrl-P Ctrl-Q

Resize = Callable[[int, int], None]


def terminal_size(fd: int) -> tuple[int, int] | None:
    if not os.isatty(fd):
        return None
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return (rows, cols) if rows and cols else None


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)  # not TCSAFLUSH: keys typed ahead must reach the container
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Session:
    """Pumps bytes between the local terminal and a console websocket until either ends."""

    def __init__(self, url: str, resize: Resize | None, stdin: int = 0, stdout: int = 1) -> None:
        self.url = url
        self.resize = resize
        self.stdin = stdin
        self.stdout = stdout
        self.detached = False
        self._closed = threading.Event()

    def run(self) -> None:
        from websockets.exceptions import InvalidHandshake, InvalidURI
        from websockets.sync.client import connect
        from websockets.typing import Subprotocol

        try:
            socket = connect(
                self.url,
                subprotocols=[Subprotocol("binary")],
                open_timeout=20,
                ping_interval=None,
                max_size=None,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise CLIError(f"cannot open the console at {_redacted(self.url)}: {exc}") from exc
        with socket, raw_mode(self.stdin), self._on_resize():
            self._send_size()
            reader = threading.Thread(target=self._pump_output, args=(socket,), daemon=True)
            reader.start()
            self._pump_input(socket)
            if self.detached:
                socket.close()
            reader.join(timeout=5)

    def _pump_output(self, socket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for message in socket:
                data = message.encode() if isinstance(message, str) else message
                os.write(self.stdout, data)
        except (ConnectionClosed, OSError):
            pass
        finally:
            self._closed.set()

    def _pump_input(self, socket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        held = b""  # a Ctrl-P is held back until the next key shows it is not a detach
        stdin_open = True
        while not self._closed.is_set():
            if not stdin_open:
                self._closed.wait(0.2)
                continue
            ready, _, _ = select.select([self.stdin], [], [], 0.2)
            if not ready:
                continue
            data = held + os.read(self.stdin, 4096)
            if len(data) == len(held):
                stdin_open = False  # keep showing output until the container side closes
                data = held
            if DETACH_KEYS in data:
                self.detached = True
                before = data[: data.index(DETACH_KEYS)]
                with contextlib.suppress(ConnectionClosed):
                    if before:
                        socket.send(before)  # keys typed ahead of the detach still count
                return
            held = DETACH_KEYS[:1] if data.endswith(DETACH_KEYS[:1]) and stdin_open else b""
            data = data[: len(data) - len(held)]
            if not data:
                continue
            try:
                socket.send(data)
            except ConnectionClosed:
                return

    def _send_size(self) -> None:
        size = terminal_size(self.stdout) or terminal_size(self.stdin)
        if size is not None and self.resize is not None:
            with contextlib.suppress(CLIError):
                self.resize(*size)

    @contextlib.contextmanager
    def _on_resize(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGWINCH, lambda *_: self._send_size())
        try:
            yield
        finally:
            signal.signal(signal.SIGWINCH, previous)


def _redacted(url: str) -> str:
    """The console URL without its one-time token."""
    head, _, query = url.partition("?")
    kept = [p for p in query.split("&") if not p.startswith("token=")]
    return head + ("?" + "&".join(kept) if kept else "")


def interactive_streams() -> tuple[int, int]:
    return sys.stdin.fileno(), sys.stdout.fileno()
