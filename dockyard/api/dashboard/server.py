"""The dashboard's server side: static files, login, logout, and a CSRF-checked way to the API.

The browser never holds the token where a script can read it: it lives in an
HttpOnly, SameSite=Strict cookie scoped to ``/dashboard``. The page calls the
public API through ``/dashboard/api/v1/...`` (the network subset through
``/dashboard/api/v2.0/...``, the block-storage subset through
``/dashboard/api/volume/...``), which hands the request, unchanged but for the
token taken from the cookie, to the same WSGI application that serves ``/v1``,
``/v2.0`` and ``/volume`` (token validation, policy and project scoping included). Every
request that can change something must carry the double-submit CSRF token: the
``X-CSRF-Token`` header equal to the ``dockyard_csrf`` cookie, which only a
page of this origin can read.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.security import safe_join
from werkzeug.wrappers import Request, Response

from dockyard.api.app import WSGIApp
from dockyard.api.dashboard.identity import IdentityUnavailable, LoginRefused, Session, TokenApi

LOG = logging.getLogger(__name__)

PREFIX = "/dashboard"
STATIC = Path(__file__).parent / "static"
TOKEN_COOKIE = "dockyard_token"
CSRF_COOKIE = "dockyard_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_LOGIN_BODY = 16 * 1024
#: The API prefixes the page may reach: Zun's, the Neutron and the block-storage subsets
#: (never /v3, identity).
API_PREFIXES = ("/v1", "/v2.0", "/volume")
#: Identity headers a browser must not pass to the API (the token comes from the cookie).
_DROPPED = ("HTTP_X_AUTH_TOKEN", "HTTP_COOKIE", "HTTP_X_CSRF_TOKEN")
# Scripts, styles and connections only from this origin; websockets to the console proxy.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": {"code": status, "message": message}}, status)


class Dashboard:
    """Serves ``/dashboard``; ``api`` is the whole API application (``/v1`` and ``/v3``).

    ``identity`` is the token API the login form uses, or, under auth_strategy =
    noauth, the one session every visitor has (nobody logs in).
    """

    def __init__(self, api: WSGIApp, identity: TokenApi | Session) -> None:
        self.api = api
        self.tokens = identity if isinstance(identity, TokenApi) else None
        self.fixed = identity if isinstance(identity, Session) else None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        http = Request(environ)
        path = http.path[len(PREFIX) :]
        if path.startswith("/api/"):
            return self._proxy(http, path[len("/api") :], environ, start_response)
        try:
            response = self._route(http, path)
        except IdentityUnavailable:
            response = _error(503, "The identity service is not answering; try again later.")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response(environ, start_response)

    def _route(self, http: Request, path: str) -> Response:
        if path == "":
            return Response(status=308, headers={"Location": PREFIX + "/"})
        if path == "/" and http.method in ("GET", "HEAD"):
            return self._index(http)
        if path.startswith("/static/") and http.method in ("GET", "HEAD"):
            return self._static(http, path[len("/static/") :])
        handlers: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/session"): self._session,
            ("POST", "/login"): self._login,
            ("POST", "/logout"): self._logout,
        }
        handler = handlers.get((http.method, path))
        if handler is None:
            return _error(404, "There is no such dashboard page.")
        if http.method not in SAFE_METHODS and not self._csrf_ok(http):
            return _error(403, "The request lacks the dashboard's CSRF token; reload the page.")
        return handler(http)

    # -- pages and files -------------------------------------------------

    def _index(self, http: Request) -> Response:
        response = Response((STATIC / "index.html").read_bytes(), content_type="text/html")
        response.headers["Content-Security-Policy"] = CSP
        if not http.cookies.get(CSRF_COOKIE):
            self._set_csrf(http, response)
        return response

    @staticmethod
    def _static(http: Request, name: str) -> Response:
        found = safe_join(str(STATIC), name)
        if found is None or not Path(found).is_file():
            return _error(404, "There is no such file.")
        kind = mimetypes.guess_type(found)[0] or "application/octet-stream"
        if found.endswith((".js", ".mjs")):
            kind = "text/javascript"
        response = Response(Path(found).read_bytes(), content_type=kind)
        response.headers["Cache-Control"] = "no-cache"
        response.add_etag()
        return response.make_conditional(http)

    # -- session ---------------------------------------------------------

    def _current(self, http: Request) -> Session | None:
        if self.tokens is None:
            return self.fixed
        token = http.cookies.get(TOKEN_COOKIE, "")
        return self.tokens.check(token) if token else None

    def _session(self, http: Request) -> Response:
        session = self._current(http)
        if session is None:
            return _error(401, "You are not logged in.")
        return _json({**session.public(), "login": self.tokens is not None})

    def _login(self, http: Request) -> Response:
        if self.tokens is None:
            return _error(400, "This Dockyard runs without authentication (noauth).")
        http.max_content_length = MAX_LOGIN_BODY
        try:
            body = json.loads(http.get_data())
        except ValueError:
            body = None
        fields = ("username", "password", "project")
        if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
            return _error(400, "Give a user name, a password and a project.")
        user, password, project = (body[f].strip() if f != "password" else body[f] for f in fields)
        if not user or not password or not project:
            return _error(400, "Give a user name, a password and a project.")
        try:
            session = self.tokens.issue(user, password, project, http.remote_addr or "")
        except LoginRefused as exc:
            return _error(exc.status, exc.message)
        response = _json({**session.public(), "login": True})
        response.set_cookie(
            TOKEN_COOKIE,
            session.token,
            path=PREFIX,
            secure=http.is_secure,
            httponly=True,
            samesite="Strict",
        )
        self._set_csrf(http, response)  # a new session gets a new CSRF token
        return response

    def _logout(self, http: Request) -> Response:
        token = http.cookies.get(TOKEN_COOKIE, "")
        if token and self.tokens is not None and not self.tokens.revoke(token):
            LOG.warning("the identity service did not revoke a dashboard token at logout")
        response = Response(status=204)
        response.delete_cookie(
            TOKEN_COOKIE, path=PREFIX, secure=http.is_secure, httponly=True, samesite="Strict"
        )
        return response

    @staticmethod
    def _set_csrf(http: Request, response: Response) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            secrets.token_urlsafe(32),
            path=PREFIX,
            secure=http.is_secure,
            httponly=False,  # the page reads it to echo it in a header
            samesite="Strict",
        )

    @staticmethod
    def _csrf_ok(http: Request) -> bool:
        cookie = http.cookies.get(CSRF_COOKIE, "")
        header = http.headers.get(CSRF_HEADER, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), header.encode())

    # -- the API ---------------------------------------------------------

    def _proxy(
        self,
        http: Request,
        path: str,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        """Hand ``/dashboard/api/v1/...`` to the API as ``/v1/...`` (``v2.0`` as ``/v2.0``,
        ``volume`` as ``/volume``) with the cookie's token."""
        if not any(path == p or path.startswith(p + "/") for p in API_PREFIXES):
            refused = _error(404, "The dashboard reaches only the /v1, /v2.0 and /volume APIs.")
            return refused(environ, start_response)
        if http.method not in SAFE_METHODS and not self._csrf_ok(http):
            refused = _error(403, "The request lacks the dashboard's CSRF token; reload the page.")
            return refused(environ, start_response)
        token = http.cookies.get(TOKEN_COOKIE, "")
        forwarded = {k: v for k, v in environ.items() if k not in _DROPPED}
        forwarded["PATH_INFO"] = path
        if token:
            forwarded["HTTP_X_AUTH_TOKEN"] = token
        return self.api(forwarded, start_response)


class Mount:
    """Sends ``/dashboard`` and everything under it to the dashboard, the rest to the API."""

    def __init__(self, dashboard: Dashboard, api: WSGIApp) -> None:
        self.dashboard = dashboard
        self.api = api

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self.dashboard(environ, start_response)
        return self.api(environ, start_response)


def mount(api: WSGIApp, identity: TokenApi | Session) -> WSGIApp:
    """``api`` with the dashboard at ``/dashboard``."""
    return Mount(Dashboard(api, identity), api)
