"""Conditional GETs (RFC 9110 ETag / If-None-Match) and waiting ones (RFC 7240 Prefer: wait).

A representation's ETag is a digest of its JSON body, so it changes exactly
when what the caller sees changes (microversion and hidden fields included)
and needs no column in the database. A client that has a representation sends
its ETag back in ``If-None-Match``: an unchanged record answers 304 without a
body; with ``Prefer: wait=N`` as well, the answer is held until the record
changes or N seconds pass.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from werkzeug.datastructures import ETags
from werkzeug.http import quote_etag
from werkzeug.wrappers import Request, Response


def if_none_match(http: Request) -> ETags:
    """The entity tags the client holds (empty when it sent none)."""
    return http.if_none_match


def preferred_wait(http: Request, max_wait: int) -> float:
    """Seconds the client prefers to wait (``Prefer: wait=N``), at most ``max_wait``.

    Preferences this service does not know, or a malformed wait, are ignored
    as RFC 7240 asks: the request is then answered at once.
    """
    for header in http.headers.getlist("Prefer"):
        for preference in header.split(","):
            name, _, value = preference.strip().partition("=")
            if name.strip().lower() == "wait" and value.strip().isdigit():
                return float(min(int(value.strip()), max_wait))
    return 0.0


def tagged(view: Any) -> tuple[bytes, str]:
    """The JSON body of ``view`` and its entity tag."""
    body = json.dumps(view).encode()
    return body, hashlib.blake2b(body, digest_size=12).hexdigest()


def _headers(etag: str, waited: float) -> dict[str, str]:
    headers = {"ETag": quote_etag(etag)}
    if waited:
        headers["Preference-Applied"] = f"wait={waited:g}"
    return headers


def tagged_response(body: bytes, etag: str, waited: float = 0.0) -> Response:
    return Response(
        body, status=200, headers=_headers(etag, waited), content_type="application/json"
    )


def not_modified(etag: str, waited: float = 0.0) -> Response:
    return Response(status=304, headers=_headers(etag, waited))
