"""Refusing request bodies over a size before any of them is read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.wrappers import Response
from werkzeug.wsgi import LimitedStream

from dockyard.api import errors
from dockyard.api.request import json_response

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]
#: Renders a refusal (status, message) in the error body of the API a path belongs to.
Refusal = Callable[[int, str], Response]


def zun_refusal(status: int, detail: str) -> Response:
    return json_response(errors.from_http(status, detail)[1], status=status)


class BodyLimit:
    """WSGI middleware: 413 for a declared length over ``limit``, read or not.

    A body sent without a length (chunked) is wrapped so that reading past
    ``limit`` raises werkzeug's ``RequestEntityTooLarge``, which the API renders
    as the same 413. ``refusals``: path prefix → the error body of the API mounted
    there (Neutron's, Cinder's, Keystone's); other paths get the Zun API's.
    """

    def __init__(
        self, app: WSGIApp, limit: int, refusals: Mapping[str, Refusal] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.refusals = dict(refusals or {})

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        declared = _content_length(environ)
        if declared is not None and declared > self.limit:
            path = str(environ.get("PATH_INFO") or "")
            return self._too_large(path, declared)(environ, start_response)
        if declared is None and "wsgi.input_terminated" in environ:
            environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], self.limit, is_max=True)
        return self.app(environ, start_response)

    def _too_large(self, path: str, declared: int) -> Response:
        detail = (
            f"The request body ({declared} bytes) is larger than the {self.limit} bytes "
            "this service accepts ([api] max_request_body_size)."
        )
        for prefix, refusal in self.refusals.items():
            if path == prefix or path.startswith(prefix + "/"):
                return refusal(413, detail)
        return zun_refusal(413, detail)


def _content_length(environ: dict[str, Any]) -> int | None:
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    # A malformed length is left to the server and the application to refuse.
    return int(text) if text.isdigit() else None
