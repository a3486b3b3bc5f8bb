"""The dashboard's calls to a Keystone v3 token API: issue, check and revoke a token.

Under auth_strategy = local the built-in ``/v3`` is called in process, through
the same WSGI application a client reaches over HTTP; under keystone the calls
go to Keystone over HTTP.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol

from werkzeug.test import EnvironBuilder, run_wsgi_app

from dockyard.api.app import WSGIApp

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class Transport(Protocol):
    def __call__(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        remote_addr: str = "",
    ) -> Reply:
        """Send one request to ``path`` under the identity endpoint's ``/v3``.

        ``remote_addr`` is the browser's address, for the per-address limit on
        failed logins of the built-in identity.
        """


class IdentityUnavailable(Exception):
    """The identity endpoint did not answer."""


@dataclass(frozen=True)
class InProcess:
    """Calls ``/v3`` of a WSGI application directly."""

    app: WSGIApp

    def __call__(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        remote_addr: str = "",
    ) -> Reply:
        path, _, query = path.partition("?")
        environ = EnvironBuilder(
            path="/v3" + path,
            query_string=query,
            method=method,
            headers=list(headers.items()),
            data=body,
            content_type="application/json",
            environ_base={"REMOTE_ADDR": remote_addr or "127.0.0.1"},
        ).get_environ()
        chunks, status, response_headers = run_wsgi_app(self.app, environ, buffered=True)
        return Reply(int(status.split(" ", 1)[0]), dict(response_headers), b"".join(chunks))


@dataclass(frozen=True)
class OverHttp:
    """Calls a Keystone at ``url`` (ending in ``/v3``)."""

    url: str
    timeout: float = 10.0

    def __call__(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        remote_addr: str = "",
    ) -> Reply:
        request = urllib.request.Request(
            self.url.rstrip("/") + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, dict(exc.headers), exc.read())
        except (OSError, ValueError) as exc:
            LOG.warning("identity endpoint %s did not answer: %s", self.url, exc)
            raise IdentityUnavailable(str(exc)) from exc


@dataclass(frozen=True)
class Session:
    """Who a token belongs to, as the dashboard shows it."""

    token: str = field(repr=False)
    user: str
    user_id: str
    project: str
    project_id: str
    roles: tuple[str, ...]
    expires_at: str

    def public(self) -> dict[str, Any]:
        """What the page may know. ``is_admin`` only picks which links to show: the
        API's policy decides what each request may do."""
        return {
            "user": {"id": self.user_id, "name": self.user},
            "project": {"id": self.project_id, "name": self.project},
            "roles": list(self.roles),
            "is_admin": "admin" in self.roles,
            "expires_at": self.expires_at,
        }


class LoginRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _session(token: str, body: Any) -> Session:
    data = body.get("token", {}) if isinstance(body, dict) else {}
    user = data.get("user") or {}
    project = data.get("project") or {}
    return Session(
        token=token,
        user=str(user.get("name", "")),
        user_id=str(user.get("id", "")),
        project=str(project.get("name", "")),
        project_id=str(project.get("id", "")),
        roles=tuple(str(r.get("name", "")) for r in data.get("roles") or []),
        expires_at=str(data.get("expires_at", "")),
    )


def _message(reply: Reply) -> str:
    body = reply.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return ""


class TokenApi:
    """Keystone's ``/v3/auth/tokens`` through a transport."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def issue(
        self, user: str, password: str, project: str, remote_addr: str = "", domain: str = "Default"
    ) -> Session:
        """A project-scoped token for a password; raises ``LoginRefused``."""
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": user, "domain": {"name": domain}, "password": password}
                    },
                },
                "scope": {"project": {"name": project, "domain": {"name": domain}}},
            }
        }
        reply = self.transport(
            "POST", "/auth/tokens?nocatalog", {}, json.dumps(body).encode(), remote_addr
        )
        token = {k.lower(): v for k, v in reply.headers.items()}.get("x-subject-token", "")
        if reply.status == 201 and token:
            return _session(token, reply.json())
        if reply.status == 400:
            raise LoginRefused(400, _message(reply) or "The login request was refused.")
        if reply.status in (401, 403, 404):
            raise LoginRefused(401, "The user name, password or project is not right.")
        raise LoginRefused(503, "The identity service could not log you in; try again later.")

    def check(self, token: str) -> Session | None:
        """The token's owner, or None when it is not (or no longer) valid."""
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        reply = self.transport("GET", "/auth/tokens?nocatalog", headers)
        return _session(token, reply.json()) if reply.status == 200 else None

    def revoke(self, token: str) -> bool:
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        return self.transport("DELETE", "/auth/tokens", headers).status in (204, 404)
