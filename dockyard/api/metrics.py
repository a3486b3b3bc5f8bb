"""Serving /metrics and timing every request by route template and status."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY, make_wsgi_app

from dockyard.observability.metrics import API_REQUEST_SECONDS

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]

#: Where the Zun application leaves the template of the route it matched.
ROUTE_KEY = "dockyard.route"
METRICS_PATH = "/metrics"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Paths served outside the Zun application, labelled by their first segment only.
_PREFIXES = ("v1", "v3", "dashboard")


def route_label(environ: dict[str, Any]) -> str:
    """The matched route's template, else a coarse label: label values stay few."""
    route = environ.get(ROUTE_KEY)
    if isinstance(route, str):
        return route
    path = str(environ.get("PATH_INFO", ""))
    if path in ("", "/"):
        return "/"
    first = path.lstrip("/").split("/", 1)[0]
    return f"/{first}/*" if first in _PREFIXES else "other"


class RequestMetrics:
    """WSGI middleware: answers ``GET /metrics`` (when ``serve``) and observes
    ``dockyard_api_request_duration_seconds`` for every other request."""

    def __init__(self, app: WSGIApp, serve: bool = True) -> None:
        self.app = app
        self.serve = serve
        self._exposition = make_wsgi_app(REGISTRY)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        if self.serve and environ.get("PATH_INFO") in (METRICS_PATH, METRICS_PATH + "/"):
            if method not in ("GET", "HEAD"):
                start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
                return [b""]
            return self._exposition(environ, start_response)
        began = time.perf_counter()
        status = ["500"]

        def capture(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = line.split(" ", 1)[0]
            return start_response(line, headers, exc_info)

        try:
            return self.app(environ, capture)
        finally:
            API_REQUEST_SECONDS.labels(
                method if method in _METHODS else "other", route_label(environ), status[0]
            ).observe(time.perf_counter() - began)
