"""The WSGI server of the processes that serve the API."""

from __future__ import annotations

import threading

from cheroot import wsgi

from dockyard.api.app import WSGIApp
from dockyard.config.api import ApiConfig


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
