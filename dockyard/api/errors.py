"""Rendering errors in the `{"errors": [...]}` body every client expects."""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

from dockyard.domain.errors import DockyardError, NotAcceptable

LOG = logging.getLogger(__name__)


def _body(status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    """The error body; ``code`` defaults to the status's phrase (``service-unavailable``)."""
    code = code or "-".join(HTTPStatus(status).phrase.lower().replace("-", " ").split())
    return {
        "errors": [
            {
                "request_id": "",
                "code": f"container.{code}",
                "status": status,
                "title": title,
                "detail": detail,
                "links": [],
            }
        ]
    }


def from_domain(exc: DockyardError) -> tuple[int, dict[str, Any]]:
    if exc.status >= 500:
        if not exc.public:
            return from_unexpected(exc, exc.status)
        return exc.status, _body(exc.status, exc.code, HTTPStatus(exc.status).phrase, exc.detail)
    if isinstance(exc, NotAcceptable):
        title = str(getattr(exc, "title", HTTPStatus(exc.status).phrase))
        return exc.status, _body(exc.status, exc.code, title, exc.detail)
    return exc.status, _body(exc.status, exc.code, exc.detail, exc.detail)


def from_http(status: int, detail: str) -> tuple[int, dict[str, Any]]:
    """Errors the framework raises itself: unknown route, wrong method."""
    return status, _body(status, "", HTTPStatus(status).phrase, detail)


def from_unexpected(exc: BaseException, status: int = 500) -> tuple[int, dict[str, Any]]:
    correlation = str(uuid.uuid4())
    LOG.error("request failed (%s), correlation id %s", exc, correlation, exc_info=exc)
    detail = (
        "The server could not handle the request; the error was logged "
        f"with correlation id {correlation}."
    )
    return status, _body(status, "", HTTPStatus(status).phrase, detail)
