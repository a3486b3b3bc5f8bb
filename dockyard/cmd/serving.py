"""The WSGI server of the processes that serve the API."""

from __future__ import annotations

import threading

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from dockyard.api.app import WSGIApp
from dockyard.config.api import GROUP, ApiConfig
from dockyard.config.tls import server_context


def start_server(app: WSGIApp, settings: ApiConfig) -> wsgi.Server:
    """Bind, then serve on a background thread (HTTPS when ``[api] ssl_cert_file`` is
    set); ``server.stop()`` ends it."""
    tls = server_context(settings.ssl_cert_file, settings.ssl_key_file, GROUP)
    server = wsgi.Server(
        (settings.host_ip, settings.port),
        app,
        numthreads=settings.threads,
        server_name="dockyard",
        shutdown_timeout=settings.shutdown_timeout,
        # cheroot's default listen backlog of 5 resets connections under a burst.
        request_queue_size=settings.backlog,
    )
    if tls is not None:
        adapter = BuiltinSSLAdapter(settings.ssl_cert_file, settings.ssl_key_file)
        adapter.context = tls  # TLS 1.2 at least, as the console proxy
        server.ssl_adapter = adapter
    server.prepare()
    threading.Thread(target=server.serve, name="wsgi", daemon=True).start()
    return server
