"""Token middleware for auth_strategy = local: the local stand-in for keystonemiddleware.

It validates ``X-Auth-Token`` with Dockyard's identity service and passes the
caller's identity to the API in the headers ``HeaderAuth`` reads. Identity
headers sent by the client are removed first, so they can never be spoofed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from werkzeug.wsgi import get_current_url

from dockyard.api.app import OPENAPI_PATHS, WSGIApp
from dockyard.api.block_storage.views import VERSION_DOCUMENTS as VOLUME_VERSION_PATHS
from dockyard.api.identity_v3 import error_response
from dockyard.domain.errors import DockyardError, Unauthorized
from dockyard.domain.identity import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME
from dockyard.service.identity import IdentityService

LOG = logging.getLogger(__name__)

# Every environ key the identity headers of keystonemiddleware can arrive under.
_IDENTITY_PREFIXES = (
    "HTTP_X_IDENTITY_",
    "HTTP_X_USER",
    "HTTP_X_PROJECT",
    "HTTP_X_TENANT",
    "HTTP_X_DOMAIN",
    "HTTP_X_ROLE",
    "HTTP_X_SERVICE_",
    "HTTP_X_IS_ADMIN",
    "HTTP_X_SYSTEM",
)
AUTH_REQUIRED = "The request you have made requires authentication."


def is_public(path: str) -> bool:
    """The unauthenticated routes: ``/`` and ``/v1`` (with ``/`` or ``.json``), ``/v3...``,
    the block-storage version documents and the OpenAPI document."""
    if path == "/v3" or path.startswith("/v3/"):
        return True
    path = path.rstrip("/") or "/"
    if path in OPENAPI_PATHS or path in VOLUME_VERSION_PATHS:
        return True
    if path.endswith(".json"):
        path = path[: -len(".json")] or "/"
    return path in ("/", "/v1")


def strip_identity(environ: dict[str, Any]) -> None:
    for key in [k for k in environ if k.startswith(_IDENTITY_PREFIXES)]:
        del environ[key]


class LocalTokenMiddleware:
    def __init__(self, app: WSGIApp, identity: IdentityService) -> None:
        self.app = app
        self.identity = identity

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        strip_identity(environ)
        if is_public(str(environ.get("PATH_INFO") or "/")):
            return self.app(environ, start_response)
        token = str(environ.get("HTTP_X_AUTH_TOKEN") or "")
        base = get_current_url(environ, root_only=True).rstrip("/")
        try:
            if not token:
                raise Unauthorized(AUTH_REQUIRED)
            info = self.identity.validate(token)
        except Unauthorized:
            headers = {"WWW-Authenticate": f'Keystone uri="{base}/v3"'}
            return error_response(401, AUTH_REQUIRED, headers)(environ, start_response)
        except DockyardError as exc:
            LOG.error("token validation failed: %s", exc)
            return error_response(503, "Token validation is unavailable.")(environ, start_response)
        environ.update(
            {
                "HTTP_X_IDENTITY_STATUS": "Confirmed",
                "HTTP_X_USER_ID": info.user.id,
                "HTTP_X_USER_NAME": info.user.name,
                "HTTP_X_USER_DOMAIN_ID": DEFAULT_DOMAIN_ID,
                "HTTP_X_USER_DOMAIN_NAME": DEFAULT_DOMAIN_NAME,
                "HTTP_X_PROJECT_ID": info.project.id,
                "HTTP_X_PROJECT_NAME": info.project.name,
                "HTTP_X_PROJECT_DOMAIN_ID": DEFAULT_DOMAIN_ID,
                "HTTP_X_PROJECT_DOMAIN_NAME": DEFAULT_DOMAIN_NAME,
                "HTTP_X_ROLES": ",".join(info.roles),
            }
        )
        return self.app(environ, start_response)


class PrefixDispatcher:
    """Sends paths under ``prefix`` to one app and everything else to another."""

    def __init__(self, prefix: str, mounted: WSGIApp, default: WSGIApp) -> None:
        self.prefix = prefix
        self.mounted = mounted
        self.default = default

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = str(environ.get("PATH_INFO") or "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            return self.mounted(environ, start_response)
        return self.default(environ, start_response)
