"""What every long-running entry point shares: the WSGI server and waiting for a signal."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from cheroot import wsgi

from dockyard.api.app import WSGIApp
from dockyard.config.api import ApiConfig

LOG = logging.getLogger(__name__)


def start_server(app: WSGIApp, settings: ApiConfig) -> wsgi.Server:
    """Bind, then serve on a background thread; ``server.stop()`` ends it."""
    server = wsgi.Server(
        (settings.host_ip, settings.port),
        app,
        numthreads=settings.threads,
        server_name="dockyard",
        shutdown_timeout=settings.shutdown_timeout,
        # cheroot's default listen backlog of 5 resets connections under a burst.
        request_queue_size=settings.backlog,
    )
    server.prepare()
    threading.Thread(target=server.serve, name="wsgi", daemon=True).start()
    return server


def wait_for_signal() -> None:
    """Block until SIGTERM or SIGINT."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        LOG.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
