"""auth_strategy = keystone: keystonemiddleware's auth_token in front of the API.

Only the two discovery documents (``/`` and ``/v1``, with a trailing ``/`` or
``.json``), the block-storage version documents (``/volume``, ``/volume/v3``) and
the OpenAPI document are served without a token; every other request goes through
auth_token, which answers 401 itself (JSON body, ``WWW-Authenticate``) or sets
the identity headers ``HeaderAuth`` reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from keystonemiddleware import auth_token
from oslo_config import cfg

from dockyard.api.app import OPENAPI_PATHS, DockyardApp, WSGIApp
from dockyard.api.auth import HeaderAuth
from dockyard.api.block_storage.mount import with_volume_api
from dockyard.api.block_storage.views import VERSION_DOCUMENTS
from dockyard.api.neutron.mount import with_network_api
from dockyard.api.services import Services

_PUBLIC = frozenset({"/", "/v1", "/.json", "/v1.json", *OPENAPI_PATHS, *VERSION_DOCUMENTS})


def is_public(path: str) -> bool:
    return (path.rstrip("/") or "/") in _PUBLIC


class PublicBypass:
    """Sends public paths straight to ``app`` and everything else through ``protected``."""

    def __init__(self, app: WSGIApp, protected: WSGIApp) -> None:
        self.app = app
        self.protected = protected

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        target = self.app if is_public(environ.get("PATH_INFO", "")) else self.protected
        return target(environ, start_response)


def keystone_app(conf: cfg.ConfigOpts, services: Services) -> WSGIApp:
    """The API behind token validation configured in ``[keystone_authtoken]``."""
    auth = HeaderAuth(services.authorizer.is_admin)
    app = DockyardApp(services, auth)
    apis = with_volume_api(with_network_api(app, services, auth), services, auth)
    protected = auth_token.AuthProtocol(apis, {"oslo_config_config": conf})
    return PublicBypass(apis, protected)
